"""Sign-in before the body: with sign-in on, a request that carries a body must name a valid token
before anything reads, counts or parses that body.

Every route that takes a body needs sign-in (app-api's writes and admin routes, chat, the agent,
AgentCore's /invocations), so the rule holds per request, not per route: an anonymous caller gets
the 401 whatever it sends, and can neither make a task buffer a body up to the size limit nor
learn how bodies are checked (the 413 and the 422 come after sign-in). The routes' own `sign_in()`
dependency then finds the token verified already (TokenVerifier keeps verified tokens).
"""

from __future__ import annotations

from typing import Any

from .auth import TokenVerifier, missing_token
from .bodyguard import Scope, has_body, refuse, unread_body_closes
from .errors import ApiError


class SignInGate:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        # Health checks carry no body: they pass on the first test, before any lookup.
        verifier: TokenVerifier | None = (scope["app"].state.auth
                                          if scope["type"] == "http" and has_body(scope) else None)
        if verifier is None:  # nothing to read, or sign-in off (AUTH_DISABLED=1)
            await self.app(scope, receive, send)
            return
        token = bearer_token(scope)
        try:
            if token is None:
                raise missing_token()
            await verifier.verify(token)
        except ApiError as refused:
            await refuse(send, refused.status, refused.code, refused.message, close=unread_body_closes(scope),
                         extra=refused.headers)
            return
        await self.app(scope, receive, send)


def bearer_token(scope: Scope) -> str | None:
    """The token of `Authorization: Bearer <token>` (the scheme in any case, as HTTPBearer reads it)."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() != "bearer":
                return None
            return token.strip() or None
    return None
