"""Settings from environment variables only; the CloudFormation task definition sets them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .envconfig import EnvReader

# Claude 3 Haiku: on-demand (no inference profile needed) in most Bedrock regions, and the
# cheapest Claude; platform.toml hands the deployed service its own choice anyway.
DEFAULT_MODEL_ID = "anthropic.claude-3-haiku-20240307-v1:0"
# The Converse API's own ceiling differs per model; 8192 is what every current chat model accepts.
MAX_TOKENS_LIMIT = 8192

NAME = r"[a-z0-9][a-z0-9-]{0,62}"
HOST = r"[0-9A-Za-z.:-]+"
IMAGE_TAG = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
ENVIRONMENT = r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}"
REGION = r"[a-z]{2}(-[a-z]+)+-\d{1,2}"
# Model ids, cross-region inference profile ids (us.anthropic...) and full ARNs.
MODEL_ID = r"[A-Za-z0-9][A-Za-z0-9.:/_-]*"


@dataclass(frozen=True)
class Settings:
    service_name: str = "inference-api"
    host: str = "0.0.0.0"
    port: int = 8000
    log_level: str = "INFO"
    image_tag: str = "unknown"
    environment: str = "dev"
    aws_region: str | None = None
    bedrock_model_id: str = DEFAULT_MODEL_ID
    bedrock_region: str = "us-east-1"
    bedrock_max_tokens: int = 1024
    bedrock_temperature: float | None = None  # None: the model's own default
    max_message_chars: int = 16000
    bedrock_read_timeout: int = 60
    bedrock_max_attempts: int = 3

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Raise ConfigError naming every bad variable at once."""
        env = EnvReader(environ)
        region = env.optional_text("AWS_REGION", REGION)
        settings = cls(
            service_name=env.text("SERVICE_NAME", cls.service_name, NAME),
            host=env.text("HOST", cls.host, HOST),
            port=env.integer("PORT", cls.port, 1, 65535),
            log_level=env.log_level(),
            image_tag=env.text("IMAGE_TAG", cls.image_tag, IMAGE_TAG),
            environment=env.text("ENVIRONMENT", cls.environment, ENVIRONMENT),
            aws_region=region,
            bedrock_model_id=env.text("BEDROCK_MODEL_ID", cls.bedrock_model_id, MODEL_ID, 2048),
            bedrock_region=env.text("BEDROCK_REGION", region or cls.bedrock_region, REGION),
            bedrock_max_tokens=env.integer("BEDROCK_MAX_TOKENS", cls.bedrock_max_tokens, 1, MAX_TOKENS_LIMIT),
            bedrock_temperature=env.number("BEDROCK_TEMPERATURE", None, 0.0, 1.0),
            max_message_chars=env.integer("MAX_MESSAGE_CHARS", cls.max_message_chars, 1, 1_000_000),
            bedrock_read_timeout=env.integer("BEDROCK_READ_TIMEOUT", cls.bedrock_read_timeout, 1, 900),
            bedrock_max_attempts=env.integer("BEDROCK_MAX_ATTEMPTS", cls.bedrock_max_attempts, 1, 10),
        )
        env.check()
        return settings
