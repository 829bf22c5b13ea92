"""Settings from environment variables only; the CloudFormation task definition sets them.

app-api reads nothing beyond what every service reads (service_kit.settings); its writes
need sign-in, so it refuses to start without AUTH_ISSUER unless AUTH_DISABLED=1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from service_kit.settings import ServiceSettings


@dataclass(frozen=True)
class Settings(ServiceSettings):
    requires_sign_in: ClassVar[bool] = True
    service_name: str = "app-api"
