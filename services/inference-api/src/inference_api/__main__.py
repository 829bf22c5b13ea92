"""`python -m inference_api` and the `inference-api` console script: the container's CMD.

The port opens before uvicorn, FastAPI and the routes are imported (service_kit.prelisten, then
service_kit.early): /inference/health answers within about half a second of the process starting,
under a second with the cores busy. Nothing heavy may be imported at the top of this module.
"""

from typing import Any

from service_kit.prelisten import plain_health_body  # not .early: that imports asyncio
from service_kit.server import run_service

from . import __version__
from .config import Settings
from .features import health_fields

HEALTH_PATH = "/inference/health"  # app.PREFIX + the kit's /health


def main() -> None:
    run_service(Settings, _create_app, early_health=_early_health)


def _create_app(settings: Settings) -> Any:
    from .app import create_app  # FastAPI, pydantic and the routes: ~1 s of CPU, after the port is open

    return create_app(settings)


def _early_health(settings: Settings) -> tuple[str, bytes]:
    return HEALTH_PATH, plain_health_body(settings.service_name, __version__, settings.image_tag,
                                          health_fields(settings))


if __name__ == "__main__":
    main()
