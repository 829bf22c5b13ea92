"""Settings from environment variables only; the CloudFormation task definition sets them.

The variables every service reads come from service_kit.settings; these are the Bedrock ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from service_kit.envconfig import EnvReader
from service_kit.settings import REGION, ServiceSettings

# Claude 3 Haiku: on-demand (no inference profile needed) in most Bedrock regions, and the
# cheapest Claude; platform.toml hands the deployed service its own choice anyway.
DEFAULT_MODEL_ID = "anthropic.claude-3-haiku-20240307-v1:0"
# The Converse API's own ceiling differs per model; 8192 is what every current chat model accepts.
MAX_TOKENS_LIMIT = 8192

# Model ids, cross-region inference profile ids (us.anthropic...) and full ARNs.
MODEL_ID = r"[A-Za-z0-9][A-Za-z0-9.:/_-]*"


@dataclass(frozen=True)
class Settings(ServiceSettings):
    service_name: str = "inference-api"
    bedrock_model_id: str = DEFAULT_MODEL_ID
    bedrock_region: str = "us-east-1"
    bedrock_max_tokens: int = 1024
    bedrock_temperature: float | None = None  # None: the model's own default
    max_message_chars: int = 16000
    bedrock_read_timeout: int = 60
    bedrock_max_attempts: int = 3

    @classmethod
    def read_own(cls, env: EnvReader, common: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "bedrock_model_id": env.text("BEDROCK_MODEL_ID", cls.bedrock_model_id, MODEL_ID, 2048),
            # Bedrock is called in the task's own region unless told otherwise.
            "bedrock_region": env.text("BEDROCK_REGION", common["aws_region"] or cls.bedrock_region, REGION),
            "bedrock_max_tokens": env.integer("BEDROCK_MAX_TOKENS", cls.bedrock_max_tokens, 1, MAX_TOKENS_LIMIT),
            "bedrock_temperature": env.number("BEDROCK_TEMPERATURE", None, 0.0, 1.0),
            "max_message_chars": env.integer("MAX_MESSAGE_CHARS", cls.max_message_chars, 1, 1_000_000),
            "bedrock_read_timeout": env.integer("BEDROCK_READ_TIMEOUT", cls.bedrock_read_timeout, 1, 900),
            "bedrock_max_attempts": env.integer("BEDROCK_MAX_ATTEMPTS", cls.bedrock_max_attempts, 1, 10),
        }
