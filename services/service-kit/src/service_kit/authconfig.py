"""Sign-in settings (AUTH_*), read from the environment like every other setting.

A service whose routes need sign-in must name an issuer or opt out with AUTH_DISABLED=1, so
a forgotten variable stops the task at start-up instead of opening the door.
"""

from __future__ import annotations

from dataclasses import dataclass

from .envconfig import EnvReader

# Unknown key ids (rotation, or junk) refetch the issuer's keys at most this often (jwks.py).
DEFAULT_JWKS_REFETCH_SECONDS = 5.0
MISSING_ISSUER = (
    "AUTH_ISSUER must be set: this service's routes need sign-in "
    "(set AUTH_DISABLED=1 to run without sign-in, for local use only)"
)


@dataclass(frozen=True)
class AuthSettings:
    issuer: str | None = None
    audience: str | None = None  # the token's `aud`, or a Cognito access token's `client_id`
    jwks_url: str | None = None  # None: `jwks_uri` from the issuer's discovery document
    disabled: bool = False
    jwks_refetch_seconds: float = DEFAULT_JWKS_REFETCH_SECONDS

    def problem(self, required: bool) -> str | None:
        """Why these settings cannot serve a service (`required`: its routes need sign-in)."""
        if self.disabled:
            return None
        if self.issuer is None:
            return MISSING_ISSUER if required else None
        if self.audience is None:
            return "AUTH_AUDIENCE must be set with AUTH_ISSUER: without it any token of the issuer would pass"
        return None


def read_auth(env: EnvReader, required: bool) -> AuthSettings:
    auth = AuthSettings(
        issuer=env.url("AUTH_ISSUER"),
        audience=env.optional_text("AUTH_AUDIENCE", r"\S+", 512),
        jwks_url=env.url("AUTH_JWKS_URL"),
        disabled=env.flag("AUTH_DISABLED"),
        jwks_refetch_seconds=env.number("AUTH_JWKS_REFETCH_SECONDS", DEFAULT_JWKS_REFETCH_SECONDS, 0.5, 3600),
    )
    # A malformed AUTH_ISSUER is already reported; do not add "must be set" to it.
    if env.raw("AUTH_ISSUER") is None or auth.issuer is not None:
        problem = auth.problem(required)
        if problem:
            env.error(problem)
    return auth
