"""Process entry: validate configuration, set up logging, run uvicorn until SIGTERM."""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Callable
from typing import Any, TypeVar

from .envconfig import ConfigError
from .jsonlog import configure_logging
from .settings import ServiceSettings

# ECS sends SIGTERM, waits stopTimeout (30 s by default) and then SIGKILLs: in-flight requests
# get 20 s to finish, which leaves uvicorn time to run the lifespan shutdown and exit 0.
GRACEFUL_SHUTDOWN_SECONDS = 20
# Above the ALB's 60 s idle timeout, so the ALB, not the task, closes idle connections;
# the other way round the ALB can reuse a connection the task just closed and answer 502.
KEEP_ALIVE_SECONDS = 65

S = TypeVar("S", bound=ServiceSettings)


def run_service(settings_type: type[S], create_app: Callable[[S], Any],
                early_health: Callable[[S], tuple[str, bytes]] | None = None) -> None:
    """The console script's whole job: settings from the environment, the app from them, uvicorn.

    With `early_health` ((path, body) of the health check), uvicorn listens before the app is
    built and answers that path meanwhile (early.py); `create_app` should then import its
    framework and routes itself, or nothing is gained.
    """
    try:
        settings = settings_type.from_env(os.environ)
    except ConfigError as exc:
        # One line an operator can read in the ECS console; a traceback would only bury it.
        configure_logging("INFO", os.environ.get("SERVICE_NAME") or settings_type.service_name)
        logging.getLogger("startup").critical(str(exc))
        raise SystemExit(2) from None
    configure_logging(settings.log_level, settings.service_name)
    if early_health is None:
        serve(create_app(settings), settings)
        return
    from .prelisten import PreListener, bind

    # Bound and answering before uvicorn is imported (prelisten.py); EarlyApp answers after.
    path, body = early_health(settings)
    try:
        sock = bind(settings.host, settings.port)
    except OSError as exc:  # the port is taken, or the address is not this host's: as uvicorn would
        logging.getLogger("startup").critical(f"cannot listen on {settings.host}:{settings.port}: {exc.strerror}")
        raise SystemExit(1) from None
    listener = PreListener(sock, path, body).start()
    from .early import EarlyApp

    serve(EarlyApp(lambda: create_app(settings), path, body), settings, listener)


def serve(app: Any, settings: ServiceSettings, listener: Any = None) -> None:
    """uvicorn until SIGTERM; with a prelisten.PreListener, on its socket once uvicorn is loaded."""
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
    if listener is None:
        uvicorn.Server(config).run()
        return
    config.load()  # the protocol modules, imported while the listener still answers
    listener.stop()
    uvicorn.Server(config).run(sockets=[listener.sock])


def _exit_cleanly(signum: int, frame: object) -> None:
    raise SystemExit(0)
