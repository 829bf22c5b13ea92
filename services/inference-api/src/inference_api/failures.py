"""Every Bedrock or botocore failure reduced, in one place, to an HTTP status a client can act on."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from service_kit.errors import ApiError

# botocore's exceptions bring urllib3 (~0.1-0.2 s to import): loaded by the first failure (a
# client exists by then anyway), not at start-up, so /health answers sooner after the process starts.
if TYPE_CHECKING:
    from botocore.exceptions import ClientError

log = logging.getLogger("inference_api.bedrock")

# The client's adaptive retries have already backed off before a throttle reaches us.
RETRY_AFTER_SECONDS = 2
_MAX_DETAIL = 300

# AWS error code -> (HTTP status, our code, message). Streams name the same errors in
# lowerCamelCase (throttlingException), so codes are compared with a capital first letter.
_BY_CODE: dict[str, tuple[int, str, str]] = {
    "ThrottlingException": (429, "throttled", "Bedrock is throttling requests; retry later"),
    "ServiceQuotaExceededException": (429, "quota_exceeded", "the Bedrock quota is used up; retry later"),
    "AccessDeniedException": (
        503,
        "model_access_denied",
        "Bedrock denied access to the model: enable access to it in the Bedrock console "
        "(Model access) for this account and region, and allow bedrock:InvokeModel in the task role",
    ),
    "ResourceNotFoundException": (
        503,
        "model_not_found",
        "Bedrock does not offer the configured model in this region: check BEDROCK_MODEL_ID",
    ),
    "ValidationException": (400, "invalid_request", "Bedrock rejected the request"),
    "ModelTimeoutException": (504, "model_timeout", "the model took too long to answer"),
    "ServiceUnavailableException": (503, "service_unavailable", "Bedrock is unavailable; retry later"),
    "ModelNotReadyException": (503, "model_not_ready", "the model is not ready; retry later"),
}


class UpstreamFailure(ApiError):
    """Raised by a route and answered in the kit's one error shape (with Retry-After for throttles)."""

    def __init__(self, status: int, code: str, message: str, retry_after: int | None = None) -> None:
        super().__init__(status, code, message, {"Retry-After": str(retry_after)} if retry_after is not None else None)
        self.retry_after = retry_after


def classify(exc: BaseException) -> UpstreamFailure:
    """The one place AWS's many failure modes become a handful of HTTP answers."""
    import urllib3
    from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError

    # A stream is read after botocore has handed it over, so its timeouts arrive as urllib3's.
    if isinstance(exc, ReadTimeoutError | ConnectTimeoutError | urllib3.exceptions.TimeoutError):
        return _logged(exc, UpstreamFailure(504, "upstream_timeout", "Bedrock did not answer in time"))
    if isinstance(exc, EndpointConnectionError):
        return _logged(exc, UpstreamFailure(502, "upstream_unreachable", "Bedrock could not be reached"))
    if isinstance(exc, ClientError):
        return _logged(exc, _from_client_error(exc))
    failure = UpstreamFailure(502, "upstream_error", "the Bedrock request failed")
    return _logged(exc, failure, unexpected=True)


def malformed(exc: BaseException) -> UpstreamFailure:
    """A 200 from Bedrock that is not the answer the call expects (an event stream to a plain Converse,
    say): Bedrock's fault or a proxy's, so a 502 in the one error shape, the traceback in the log."""
    return _logged(exc, UpstreamFailure(502, "upstream_error", "Bedrock answered in an unexpected shape"),
                   unexpected=True)


def _from_client_error(exc: ClientError) -> UpstreamFailure:
    error = exc.response.get("Error", {})
    code = str(error.get("Code", ""))
    code = code[:1].upper() + code[1:]
    status, ours, message = _BY_CODE.get(code, (502, "upstream_error", "the Bedrock request failed"))
    if status == 400 and error.get("Message"):
        # Bedrock's validation messages describe the input (too long, bad content), not our setup.
        message = f"{message}: {str(error['Message'])[:_MAX_DETAIL]}"
    return UpstreamFailure(status, ours, message, RETRY_AFTER_SECONDS if status == 429 else None)


def _logged(exc: BaseException, failure: UpstreamFailure, unexpected: bool = False) -> UpstreamFailure:
    from botocore.exceptions import ClientError

    aws = exc.response if isinstance(exc, ClientError) else {}
    fields = {
        "aws_error": aws.get("Error", {}).get("Code") or type(exc).__name__,
        "aws_request_id": aws.get("ResponseMetadata", {}).get("RequestId"),
        "mapped_status": failure.status,
    }
    # Known AWS errors need no traceback; anything else keeps it in the log (never in the response).
    log.warning("bedrock call failed: %s", exc, extra={"fields": fields}, exc_info=exc if unexpected else None)
    return failure
