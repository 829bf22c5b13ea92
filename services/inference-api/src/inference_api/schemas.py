"""Request and response bodies. Static rules live in the models; the ceilings come from Settings."""

from __future__ import annotations

from typing import Literal

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from service_kit import health

from .config import MAX_TOKENS_LIMIT, SCHEMA_MAX_MESSAGES, Settings


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Literal["user", "assistant"]
    content: str = Field(min_length=1)

    @field_validator("content")
    @classmethod
    def not_blank(cls, content: str) -> str:
        if not content.strip():
            raise ValueError("content must not be blank")
        return content


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    messages: list[ChatMessage] = Field(min_length=1, max_length=SCHEMA_MAX_MESSAGES)
    system: str | None = Field(default=None, min_length=1)
    max_tokens: int | None = Field(default=None, ge=1, le=MAX_TOKENS_LIMIT)
    temperature: float | None = Field(default=None, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def conversation_shape(self) -> ChatRequest:
        """Converse rejects anything but user, assistant, user, ...; say so before calling it."""
        for index, message in enumerate(self.messages):
            expected = "user" if index % 2 == 0 else "assistant"
            if message.role != expected:
                raise ValueError(
                    f"messages[{index}] must have role {expected!r}: the conversation starts with "
                    "the user and alternates user/assistant"
                )
        if self.messages[-1].role != "user":
            raise ValueError("the last message must have role 'user'")
        return self


def check_limits(request: ChatRequest, settings: Settings) -> None:
    """422 for each spend-guard ceiling the request passes (limits come from the environment)."""
    errors = [_error(loc, msg) for loc, msg in _over_limits(request, settings)]
    if errors:
        raise RequestValidationError(errors)


def _over_limits(request: ChatRequest, settings: Settings) -> list[tuple[tuple[str | int, ...], str]]:
    texts = [(("body", "messages", i, "content"), m.content) for i, m in enumerate(request.messages)]
    if request.system is not None:
        texts.append((("body", "system"), request.system))
    found = [
        (loc, f"String should have at most {settings.max_message_chars} characters")
        for loc, text in texts
        if len(text) > settings.max_message_chars
    ]
    if len(request.messages) > settings.bedrock_max_messages:
        found.append((("body", "messages"), f"at most {settings.bedrock_max_messages} messages are accepted"))
    total = sum(len(text) for _, text in texts)
    if total > settings.bedrock_max_input_chars:
        found.append((("body",), f"all text together must be at most {settings.bedrock_max_input_chars} characters"))
    if request.max_tokens is not None and request.max_tokens > settings.bedrock_max_tokens:
        found.append((("body", "max_tokens"), f"max_tokens must be at most {settings.bedrock_max_tokens}"))
    return found


def _error(loc: tuple[str | int, ...], msg: str) -> dict[str, object]:
    return {"type": "limit_exceeded", "loc": loc, "msg": msg}


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class Usage(BaseModel):
    input_tokens: int
    output_tokens: int
    total_tokens: int


class ChatResponse(BaseModel):
    model_id: str
    message: AssistantMessage
    stop_reason: str
    usage: Usage
    latency_ms: int | None = None


# /inference/health: which build, which model, and whether the optional agent stack is installed.
# (No docstring: pydantic would put it into the OpenAPI schema, which stays as it was.)
class Health(health.Health):
    model_id: str
    agentcore: bool
