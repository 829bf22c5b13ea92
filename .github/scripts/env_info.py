#!/usr/bin/env python3
"""Print what a pipeline needs to know about one environment, as GITHUB_OUTPUT lines.

`python .github/scripts/env_info.py --env dev [--service app-api]` prints `region=...`,
`prefix=...` and, with --service, `repository=...` (the ECR repository name). The values come
from platform.toml through the project's own loader and naming module, so the workflows never
repeat a region, prefix or repository name the configuration already states. Needs the project
installed (the setup action's `make setup`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from generators.config import DEFAULT_CONFIG, ConfigError, load_config
from generators.naming import repository_name


def env_info(env: str, service: str | None = None, config: Path = DEFAULT_CONFIG) -> dict[str, str]:
    cfg = load_config(config, env)
    info = {"region": cfg.env.region, "prefix": cfg.prefix}
    if service is not None:
        if service not in {s.name for s in cfg.services}:
            raise ConfigError(f"{cfg.source.name}: no service {service!r}")
        info["repository"] = repository_name(cfg.prefix, service)
    return info


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--env", required=True)
    p.add_argument("--service")
    args = p.parse_args(argv)
    try:
        info = env_info(args.env, args.service)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for key, value in info.items():
        print(f"{key}={value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
