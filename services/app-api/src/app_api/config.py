"""Settings from environment variables only; the CloudFormation task definition sets them.

app-api reads nothing beyond what every service reads (service_kit.settings).
"""

from __future__ import annotations

from dataclasses import dataclass

from service_kit.settings import ServiceSettings


@dataclass(frozen=True)
class Settings(ServiceSettings):
    service_name: str = "app-api"
