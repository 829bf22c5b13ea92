"""Settings from environment variables only; the CloudFormation task definition sets them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .envconfig import EnvReader

NAME = r"[a-z0-9][a-z0-9-]{0,62}"
HOST = r"[0-9A-Za-z.:-]+"
IMAGE_TAG = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
ENVIRONMENT = r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}"
REGION = r"[a-z]{2}(-[a-z]+)+-\d{1,2}"


@dataclass(frozen=True)
class Settings:
    service_name: str = "app-api"
    host: str = "0.0.0.0"
    port: int = 8000
    log_level: str = "INFO"
    image_tag: str = "unknown"
    environment: str = "dev"
    aws_region: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Raise ConfigError naming every bad variable at once."""
        env = EnvReader(environ)
        settings = cls(
            service_name=env.text("SERVICE_NAME", cls.service_name, NAME),
            host=env.text("HOST", cls.host, HOST),
            port=env.integer("PORT", cls.port, 1, 65535),
            log_level=env.log_level(),
            image_tag=env.text("IMAGE_TAG", cls.image_tag, IMAGE_TAG),
            environment=env.text("ENVIRONMENT", cls.environment, ENVIRONMENT),
            aws_region=env.optional_text("AWS_REGION", REGION),
        )
        env.check()
        return settings
