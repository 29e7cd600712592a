"""Domain errors. Each maps to one HTTP status and a stable ``error_type`` in the problem body."""

from __future__ import annotations

from typing import NamedTuple


class Status(NamedTuple):
    error_type: str  # the problem body's stable ``error_type``
    description: str  # what the status means, as the OpenAPI schema says it


# The one table from status to error type: the problem bodies and the OpenAPI schema both read it.
STATUSES: dict[int, Status] = {
    400: Status("bad_request", "Malformed request (body not decodable, bad parameter type)"),
    401: Status("unauthorized", "Missing or unknown API key"),
    403: Status("forbidden", "The key lacks the scope this route needs"),
    404: Status("not_found", "Not found"),
    405: Status("method_not_allowed", "Method not allowed on this route"),
    409: Status("conflict", "Conflicts with the resource's state"),
    413: Status("payload_too_large", "Body or upload too large"),
    415: Status("unsupported_media_type", "Unsupported content type"),
    422: Status("validation_error", "Well-formed but invalid input"),
    429: Status("overloaded", "Shed under load or rate limited; see Retry-After"),
    500: Status("internal_error", "Internal error"),
    502: Status("upstream_error", "An upstream (LLM, TX store) answered with an error"),
    503: Status("unavailable", "A dependency (database, model, feature) is unavailable; retry later"),
    504: Status("upstream_timeout", "An upstream timed out"),
    507: Status("insufficient_storage", "Insufficient storage on the server"),
}


class TxAssistError(Exception):
    status_code = 400
    error_type = "bad_request"  # a subclass that sets only its status gets the type STATUSES gives it

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if "error_type" not in cls.__dict__:
            cls.error_type = STATUSES[cls.status_code].error_type

    def __init__(self, detail: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers or {}


class InvalidInput(TxAssistError):
    status_code = 422


class NotFound(TxAssistError):
    status_code = 404


class Conflict(TxAssistError):
    status_code = 409


class PayloadTooLarge(TxAssistError):
    status_code = 413


class UnsupportedMediaType(TxAssistError):
    status_code = 415


class Overloaded(TxAssistError):
    status_code = 429


class UpstreamError(TxAssistError):
    status_code = 502


class UpstreamTimeout(TxAssistError):
    status_code = 504


class Unavailable(TxAssistError):
    status_code = 503
