"""Settings from environment variables only; the CloudFormation task definition sets them.

app-api reads nothing beyond what every service reads (service_kit.settings); its writes
need sign-in, so it refuses to start without AUTH_ISSUER unless AUTH_DISABLED=1.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from service_kit.envconfig import EnvReader
from service_kit.settings import ServiceSettings

CLAIM = r"[A-Za-z0-9:_.-]{1,128}"


@dataclass(frozen=True)
class Settings(ServiceSettings):
    requires_sign_in: ClassVar[bool] = True
    service_name: str = "app-api"
    # /api/admin/* (admin.py) needs this claim of the token to hold this value (a list or a
    # space-separated string); Cognito puts a user's groups in `cognito:groups`.
    admin_claim: str = "cognito:groups"
    admin_group: str = "admin"

    @classmethod
    def read_own(cls, env: EnvReader, common: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "admin_claim": env.text("ADMIN_CLAIM", cls.admin_claim, CLAIM),
            "admin_group": env.text("ADMIN_GROUP", cls.admin_group, CLAIM),
        }
