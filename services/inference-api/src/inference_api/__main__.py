"""`python -m inference_api` and the `inference-api` console script: the container's CMD."""

from .app import create_app
from .config import Settings
from .server import run_service


def main() -> None:
    run_service(Settings.from_env, create_app, fallback_name="inference-api")


if __name__ == "__main__":
    main()
