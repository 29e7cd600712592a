"""One error body everywhere: RFC 9457 problem details plus a stable ``error_type``."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import structlog
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException

from txassist.errors import TxAssistError

PROBLEM_MEDIA_TYPE = "application/problem+json"
log = structlog.get_logger("txassist.http")

_ERROR_TYPES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "overloaded",
    500: "internal_error",
    502: "upstream_error",
    503: "unavailable",
    504: "upstream_timeout",
}


def problem(
    status: int,
    detail: str,
    *,
    error_type: str | None = None,
    request: Request[Any, Any, Any] | None = None,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[dict[str, Any]]:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "error": detail,
        "error_type": error_type or _ERROR_TYPES.get(status, "error"),
    }
    if request is not None:
        body["instance"] = request.url.path
        request_id = request.scope.get("state", {}).get("request_id")
        if request_id:
            body["request_id"] = request_id
    if extra:
        body.update(extra)
    return Response(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def handle_domain_error(request: Request[Any, Any, Any], exc: TxAssistError) -> Response[dict[str, Any]]:
    log.info("request_failed", status=exc.status_code, error_type=exc.error_type, detail=exc.detail)
    return problem(exc.status_code, exc.detail, error_type=exc.error_type, request=request, headers=exc.headers)


def handle_http_exception(request: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    status = exc.status_code
    extra: dict[str, Any] | None = None
    if isinstance(exc, ValidationException):
        # Litestar reports body decode and type errors as 400; a body that parsed but broke the
        # schema is a 422 to our callers. Both carry the offending fields.
        status = 422 if _is_schema_error(exc) else 400
        extra = {"errors": _json_safe(exc.extra)} if exc.extra else None
    if status >= 500:
        log.error("request_failed", status=status, detail=exc.detail)
    else:
        log.info("request_failed", status=status, detail=exc.detail)
    return problem(status, str(exc.detail), request=request, extra=extra, headers=dict(exc.headers or {}))


def handle_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    # Logged with the stack for operators; the body never carries internals or secrets.
    log.exception("unhandled_error", error=type(exc).__name__)
    return problem(500, "internal error", request=request)


def _is_schema_error(exc: ValidationException) -> bool:
    detail = str(exc.detail).lower()
    return not ("malformed" in detail or "json is malformed" in detail or "decode" in detail)


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {
    TxAssistError: handle_domain_error,
    HTTPException: handle_http_exception,
    Exception: handle_unexpected,
}
