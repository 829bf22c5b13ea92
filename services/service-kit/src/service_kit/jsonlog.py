"""One JSON object per line on stdout: what CloudWatch Logs Insights can query without parsing rules."""

from __future__ import annotations

import json
import logging
import sys
import time
from contextvars import ContextVar
from functools import lru_cache
from typing import Any

# Set by the access-log middleware for the life of a request, so every line logged while
# handling it (in the event loop or a worker thread started from it) carries the same id.
request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self._service = service

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": _utc_iso(record.created),
            "level": record.levelname,
            "message": record.getMessage(),
            "logger": record.name,
            "service": self._service,
        }
        request_id = request_id_var.get()
        if request_id is not None:
            line["request_id"] = request_id
        fields = getattr(record, "fields", None)
        if fields:
            line.update(fields)
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, separators=(",", ":"))


def _utc_iso(created: float) -> str:
    return f"{_second_text(int(created))}.{int(created % 1 * 1000):03d}Z"


@lru_cache(maxsize=4)  # strftime once a second, not once a line
def _second_text(second: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))


def configure_logging(level: str, service: str) -> None:
    """Route the root logger, and uvicorn's, to one JSON handler on stdout."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter(service))
    # Thread, process and multiprocessing names are never printed: skip collecting them per record.
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
