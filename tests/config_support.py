"""A configuration mistake checked in-process: the line `deploy.py --synth` prints for it.

Every configuration mistake leaves deploy.py the same way: `load_config` (or a generator, while
`--synth` renders) raises ConfigError, and main() prints `error: <message>` and returns 2 before
anything is written. Run as a subprocess, each case costs an interpreter start, deploy.py's imports
and a digest of the project copy (about 0.3 s of CPU) only to show a different message. So each
test file checks its messages here and keeps real `deploy.py` runs (the `refused_synth` fixture)
for a few of its cases, asserting that the CLI prints exactly the line this returns.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from generators.config import ConfigError, load_config
from generators.synth import render


def config_error(directory: Path, text: str, env: str = "dev") -> str:
    """The one line deploy.py's main() prints for this configuration text (`error: ...`), from what
    `--synth --env env` calls before it writes: load_config, then every stack's generator."""
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "platform.toml"
    config.write_text(text)
    with pytest.raises(ConfigError) as caught:
        render(load_config(config, env))
    line = f"error: {caught.value}"
    assert "\n" not in line and line.startswith("error: platform.toml: "), line
    assert list(directory.iterdir()) == [config]
    return line
