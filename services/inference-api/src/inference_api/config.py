"""Settings from environment variables only; the CloudFormation task definition sets them.

The variables every service reads come from service_kit.settings; these are the Bedrock ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from service_kit.envconfig import EnvReader
from service_kit.settings import REGION, ServiceSettings
from service_kit.sse import KEEPALIVE_SECONDS

from .agent_settings import AgentSettings, read_agent

# Claude 3 Haiku: on-demand (no inference profile needed) in most Bedrock regions, and the
# cheapest Claude; platform.toml hands the deployed service its own choice anyway.
DEFAULT_MODEL_ID = "anthropic.claude-3-haiku-20240307-v1:0"
# The Converse API's own ceiling differs per model; 8192 is what every current chat model accepts.
MAX_TOKENS_LIMIT = 8192

# The ALB's and CloudFront's idle/read timeouts are 60 s: a request must be answered before them.
MAX_DEADLINE_SECONDS = 54
# A silent stream's keep-alive interval may be set up to this: the edge's 60 s idle timeouts then
# still survive one lost comment (two intervals).
MAX_KEEPALIVE_SECONDS = 29
# How long a chat request may wait for Bedrock (connect, read and retries together) before a 504.
DEFAULT_DEADLINE_SECONDS = 50
# Hard ceilings on one request (spend guard); each is configurable, none may be 0 or negative.
DEFAULT_MAX_MESSAGES = 50
DEFAULT_MAX_INPUT_CHARS = 100_000
DEFAULT_MAX_STREAMS_PER_USER = 3
SCHEMA_MAX_MESSAGES = 1000  # what the request model accepts at all; BEDROCK_MAX_MESSAGES is the real limit

# Model ids, cross-region inference profile ids (us.anthropic...) and full ARNs.
MODEL_ID = r"[A-Za-z0-9][A-Za-z0-9.:/_-]*"


@dataclass(frozen=True)
class Settings(ServiceSettings):
    requires_sign_in: ClassVar[bool] = True
    service_name: str = "inference-api"
    bedrock_model_id: str = DEFAULT_MODEL_ID
    bedrock_region: str = "us-east-1"
    bedrock_max_tokens: int = 1024
    bedrock_temperature: float | None = None  # None: the model's own default
    max_message_chars: int = 16000
    bedrock_max_input_chars: int = DEFAULT_MAX_INPUT_CHARS
    bedrock_max_messages: int = DEFAULT_MAX_MESSAGES
    max_streams_per_user: int = DEFAULT_MAX_STREAMS_PER_USER
    bedrock_read_timeout: int = DEFAULT_DEADLINE_SECONDS
    bedrock_deadline_seconds: float = DEFAULT_DEADLINE_SECONDS
    bedrock_max_attempts: int = 3
    sse_keepalive_seconds: float = KEEPALIVE_SECONDS
    agent: AgentSettings = field(default_factory=AgentSettings)  # POST /inference/agent (AGENT_*)

    @classmethod
    def read_own(cls, env: EnvReader, common: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "bedrock_model_id": env.text("BEDROCK_MODEL_ID", cls.bedrock_model_id, MODEL_ID, 2048),
            # Bedrock is called in the task's own region unless told otherwise.
            "bedrock_region": env.text("BEDROCK_REGION", common["aws_region"] or cls.bedrock_region, REGION),
            "bedrock_max_tokens": env.integer("BEDROCK_MAX_TOKENS", cls.bedrock_max_tokens, 1, MAX_TOKENS_LIMIT),
            "bedrock_temperature": env.number("BEDROCK_TEMPERATURE", None, 0.0, 1.0),
            "max_message_chars": env.integer("MAX_MESSAGE_CHARS", cls.max_message_chars, 1, 1_000_000),
            "bedrock_max_input_chars": env.integer(
                "BEDROCK_MAX_INPUT_CHARS", cls.bedrock_max_input_chars, 1, 10_000_000
            ),
            "bedrock_max_messages": env.integer(
                "BEDROCK_MAX_MESSAGES", cls.bedrock_max_messages, 1, SCHEMA_MAX_MESSAGES
            ),
            "max_streams_per_user": env.integer("MAX_STREAMS_PER_USER", cls.max_streams_per_user, 1, 1000),
            # Between two events of a stream; keep-alive comments hold the viewer's connection meanwhile.
            "bedrock_read_timeout": env.integer("BEDROCK_READ_TIMEOUT", cls.bedrock_read_timeout, 1, 900),
            "bedrock_deadline_seconds": env.number(
                "BEDROCK_DEADLINE_SECONDS", cls.bedrock_deadline_seconds, 0.1, MAX_DEADLINE_SECONDS
            ),
            "bedrock_max_attempts": env.integer("BEDROCK_MAX_ATTEMPTS", cls.bedrock_max_attempts, 1, 10),
            "sse_keepalive_seconds": env.number(
                "SSE_KEEPALIVE_SECONDS", cls.sse_keepalive_seconds, 0.1, MAX_KEEPALIVE_SECONDS
            ),
            "agent": read_agent(env),
        }
