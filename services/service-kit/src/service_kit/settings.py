"""The settings every service reads from its environment; a service subclasses them to add its own.

The CloudFormation task definition sets these variables; nothing is read from files.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

from .authconfig import AuthSettings, read_auth
from .envconfig import EnvReader

NAME = r"[a-z0-9][a-z0-9-]{0,62}"
HOST = r"[0-9A-Za-z.:-]+"
IMAGE_TAG = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
ENVIRONMENT = r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}"
REGION = r"[a-z]{2}(-[a-z]+)+-\d{1,2}"
# Large enough for any request the services accept; a 10 MB body is refused before it is read.
DEFAULT_MAX_BODY_BYTES = 1_048_576


@dataclass(frozen=True)
class ServiceSettings:
    """A subclass names its service by overriding the `service_name` default, and adds fields.

    `requires_sign_in`: some of the service's routes need sign-in, so it refuses to start
    without AUTH_ISSUER (or an explicit AUTH_DISABLED=1).
    """

    requires_sign_in: ClassVar[bool] = False

    service_name: str = "service"
    host: str = "0.0.0.0"
    port: int = 8000
    log_level: str = "INFO"
    image_tag: str = "unknown"
    environment: str = "dev"
    aws_region: str | None = None
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    docs_enabled: bool = True
    auth: AuthSettings = field(default_factory=AuthSettings)

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Self:
        """Raise ConfigError naming every bad variable at once, the service's own included."""
        env = EnvReader(environ)
        common = cls._read_common(env)
        settings = cls(**common, **cls.read_own(env, common))
        env.check()
        return settings

    @classmethod
    def read_own(cls, env: EnvReader, common: Mapping[str, Any]) -> dict[str, Any]:
        """The subclass's own fields; `common` holds the shared ones, already read (its defaults may depend on them)."""
        return {}

    @classmethod
    def _read_common(cls, env: EnvReader) -> dict[str, Any]:
        return {
            "service_name": env.text("SERVICE_NAME", cls.service_name, NAME),
            "host": env.text("HOST", cls.host, HOST),
            "port": env.integer("PORT", cls.port, 1, 65535),
            "log_level": env.log_level(),
            "image_tag": env.text("IMAGE_TAG", cls.image_tag, IMAGE_TAG),
            "environment": env.text("ENVIRONMENT", cls.environment, ENVIRONMENT),
            "aws_region": env.optional_text("AWS_REGION", REGION),
            "max_body_bytes": env.integer("MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES, 1, 100 * 2**20),
            "docs_enabled": env.flag("DOCS_ENABLED", default=True),
            "auth": read_auth(env, cls.requires_sign_in),
        }
