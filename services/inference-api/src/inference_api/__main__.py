"""`python -m inference_api` and the `inference-api` console script: the container's CMD."""

from service_kit.server import run_service

from .app import create_app
from .config import Settings


def main() -> None:
    run_service(Settings, create_app)


if __name__ == "__main__":
    main()
