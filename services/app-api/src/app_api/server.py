"""Process entry: validate configuration, set up logging, run uvicorn until SIGTERM.

Shared verbatim with the other service (tests/services check the copies stay identical).
"""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from .envconfig import ConfigError
from .jsonlog import configure_logging

# ECS sends SIGTERM, waits stopTimeout (30 s by default) and then SIGKILLs: in-flight requests
# get 20 s to finish, which leaves uvicorn time to run the lifespan shutdown and exit 0.
GRACEFUL_SHUTDOWN_SECONDS = 20
# Above the ALB's 60 s idle timeout, so the ALB, not the task, closes idle connections;
# the other way round the ALB can reuse a connection the task just closed and answer 502.
KEEP_ALIVE_SECONDS = 65


class ServerSettings(Protocol):
    service_name: str
    host: str
    port: int
    log_level: str


def run_service(
    load: Callable[[Mapping[str, str]], ServerSettings],
    create_app: Callable[[Any], Any],
    fallback_name: str,
) -> None:
    try:
        settings = load(os.environ)
    except ConfigError as exc:
        # One line an operator can read in the ECS console; a traceback would only bury it.
        configure_logging("INFO", os.environ.get("SERVICE_NAME") or fallback_name)
        logging.getLogger("startup").critical(str(exc))
        raise SystemExit(2) from None
    configure_logging(settings.log_level, settings.service_name)
    serve(create_app(settings), settings)


def serve(app: Any, settings: ServerSettings) -> None:
    import uvicorn  # imported here so tests of the app itself do not pay for it

    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,  # keep the JSON handler configure_logging installed
        log_level=settings.log_level.lower(),
        access_log=False,  # AccessLogMiddleware writes the one access line, with the request id
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        proxy_headers=True,
        forwarded_allow_ips="*",  # only the ALB can reach the task (security group)
        server_header=False,
    )
    # uvicorn re-raises SIGTERM once its graceful shutdown is done, which would report a clean
    # stop as "killed by SIGTERM" (exit 143). With this handler in place the re-raised signal
    # ends the process with status 0; a SIGTERM before uvicorn listens simply exits at once.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    uvicorn.Server(config).run()


def _exit_cleanly(signum: int, frame: object) -> None:
    raise SystemExit(0)
