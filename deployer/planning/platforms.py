"""Which Docker platforms a service's image is built for: `python -m deployer.planning.platforms SERVICE`.

`--publish` builds for the one environment it publishes to (`--platform linux/arm64` when that
environment sets arch = "arm64"); the pipeline's image action builds once for every environment
of the configuration, so it asks here for all of them: one platform when they agree, both
(a multi-architecture image) when they differ. Pure: reads platform.toml only.
"""

from __future__ import annotations

import sys
from pathlib import Path

from generators.capacity_config import DOCKER_PLATFORM
from generators.config import DEFAULT_CONFIG, Config, ConfigError, environment_names, load_config


def platform_for(cfg: Config, service: str) -> str:
    return next(DOCKER_PLATFORM[s.arch] for s in cfg.services if s.name == service)


def platforms(service: str, config: Path = DEFAULT_CONFIG) -> list[str]:
    configs = [load_config(config, env) for env in environment_names(config)]
    found = {platform_for(cfg, service) for cfg in configs if any(s.name == service for s in cfg.services)}
    if not found:
        raise ConfigError(f"{config.name}: no service {service!r} in any environment")
    return sorted(found)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("error: usage: python -m deployer.planning.platforms SERVICE", file=sys.stderr)
        return 2
    try:
        print(",".join(platforms(args[0])))
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
