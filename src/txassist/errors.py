"""Domain errors. Each maps to one HTTP status and a stable ``error_type`` in the problem body."""

from __future__ import annotations


class TxAssistError(Exception):
    status_code = 400
    error_type = "bad_request"

    def __init__(self, detail: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers or {}


class InvalidInput(TxAssistError):
    status_code = 422
    error_type = "validation_error"


class NotFound(TxAssistError):
    status_code = 404
    error_type = "not_found"


class Conflict(TxAssistError):
    status_code = 409
    error_type = "conflict"


class PayloadTooLarge(TxAssistError):
    status_code = 413
    error_type = "payload_too_large"


class UnsupportedMediaType(TxAssistError):
    status_code = 415
    error_type = "unsupported_media_type"


class Overloaded(TxAssistError):
    status_code = 429
    error_type = "overloaded"


class UpstreamError(TxAssistError):
    status_code = 502
    error_type = "upstream_error"


class UpstreamTimeout(TxAssistError):
    status_code = 504
    error_type = "upstream_timeout"


class Unavailable(TxAssistError):
    status_code = 503
    error_type = "unavailable"
