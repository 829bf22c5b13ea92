"""Conversation state in S3 (strands' S3SessionManager), one prefix per user.

Keys are `<SESSION_PREFIX>/<sha256 of the caller's subject>/session_<id>/...`: a subject is
hashed so no user's identifier is readable in the bucket, and a caller can only name sessions
under their own hash, so another user's session id finds nothing.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import Any

from .agent_settings import AgentSettings

# strands refuses ids holding a path separator; this is narrower still, and bounded.
SESSION_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")
SESSION_ID_RULE = "1-128 letters, digits, '-' or '_', starting with a letter or digit"


def user_prefix(agent: AgentSettings, subject: str) -> str:
    return f"{agent.session_prefix}/{hashlib.sha256(subject.encode()).hexdigest()[:32]}"


def session_factory(agent: AgentSettings, region: str, subject: str, session_id: str) -> Callable[[], Any]:
    """Called in the agent's thread: the manager reads (or creates) the session in S3 at once."""

    def make() -> Any:
        from botocore.config import Config
        from strands.session.s3_session_manager import S3SessionManager

        config = Config(connect_timeout=5, read_timeout=10, retries={"mode": "standard", "total_max_attempts": 3})
        return S3SessionManager(
            session_id=session_id, bucket=agent.session_bucket, prefix=user_prefix(agent, subject),
            region_name=region, boto_client_config=config,
        )

    return make
