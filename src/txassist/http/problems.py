"""One error body everywhere: RFC 9457 problem details plus a stable ``error_type``.

Litestar's ``ProblemDetailsPlugin`` is not used: its converters see the exception but not the request
(our bodies carry ``instance`` and ``request_id``), the database, OS and decoding errors would still
need converters of their own, and the limiter answers 429 from middleware, where no exception handler
runs. It would add a layer and remove no code; ``problem`` is the one renderer instead.
"""

from __future__ import annotations

import errno
from http import HTTPStatus

import msgspec
import structlog
from litestar import Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.types import ExceptionHandlersMap
from sqlalchemy.exc import DBAPIError

from txassist.errors import STATUSES, TxAssistError
from txassist.http.requests import AnyRequest

PROBLEM_MEDIA_TYPE = "application/problem+json"
log = structlog.get_logger("txassist.http")


def problem(
    status: int,
    detail: str,
    *,
    error_type: str | None = None,
    request: AnyRequest | None = None,
    extra: dict[str, object] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[dict[str, object]]:
    body: dict[str, object] = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "error": detail,
        "error_type": error_type or (STATUSES[status].error_type if status in STATUSES else "error"),
    }
    if request is not None:
        body["instance"] = request.url.path
        request_id = request.scope.get("state", {}).get("request_id")
        if request_id:
            body["request_id"] = request_id
    if extra:
        body.update(extra)
    return Response(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def handle_domain_error(request: AnyRequest, exc: TxAssistError) -> Response[dict[str, object]]:
    log.info("request_failed", status=exc.status_code, error_type=exc.error_type, detail=exc.detail)
    return problem(exc.status_code, exc.detail, error_type=exc.error_type, request=request, headers=exc.headers)


def handle_http_exception(request: AnyRequest, exc: HTTPException) -> Response[dict[str, object]]:
    status = exc.status_code
    extra: dict[str, object] | None = None
    if isinstance(exc, ValidationException):
        # Litestar reports body decode and type errors as 400; a body that parsed but broke the
        # schema is a 422 to our callers. Both carry the offending fields.
        status = 422 if _is_schema_error(exc) else 400
        # Whatever the validator put there (enums, paths) as plain JSON.
        extra = {"errors": msgspec.to_builtins(exc.extra, enc_hook=str, str_keys=True)} if exc.extra else None
    if status >= 500:
        log.error("request_failed", status=status, detail=exc.detail)
    else:
        log.info("request_failed", status=status, detail=exc.detail)
    return problem(status, str(exc.detail), request=request, extra=extra, headers=dict(exc.headers or {}))


def handle_database_error(request: AnyRequest, exc: DBAPIError) -> Response[dict[str, object]]:
    # A database that is down, locked or restarting is the service's condition, not a bug: the
    # caller may retry, and the driver message (it can name hosts and users) stays in the log.
    log.warning("database_unavailable", error=type(exc.orig).__name__ if exc.orig else type(exc).__name__)
    return problem(503, "database unavailable, retry later", request=request, headers={"Retry-After": "2"})


_STORAGE_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
_STORAGE_UNAVAILABLE = {errno.EROFS, errno.EACCES, errno.EPERM, errno.EIO}


def handle_os_error(request: AnyRequest, exc: OSError) -> Response[dict[str, object]]:
    # A full or read-only disk (index, database) is an operating condition the caller should see
    # as such; the path and the OS message stay in the log.
    if exc.errno in _STORAGE_FULL:
        log.error("storage_full", errno=exc.errno)
        return problem(507, "insufficient storage on the server", error_type="insufficient_storage", request=request)
    if exc.errno in _STORAGE_UNAVAILABLE or isinstance(exc, ConnectionError):
        log.error("storage_or_dependency_unavailable", errno=exc.errno, error=type(exc).__name__)
        return problem(
            503, "a storage or dependency is unavailable, retry later", request=request, headers={"Retry-After": "5"}
        )
    return handle_unexpected(request, exc)


def handle_undecodable(request: AnyRequest, exc: UnicodeDecodeError) -> Response[dict[str, object]]:
    # Litestar decodes a JSON body without catching a bad encoding: the caller's mistake, a 400.
    log.info("request_failed", status=400, detail="body is not valid UTF-8")
    return problem(400, f"body is not valid UTF-8 (byte {exc.start})", request=request)


def handle_unexpected(request: AnyRequest, exc: Exception) -> Response[dict[str, object]]:
    # Logged with the stack for operators; the body never carries internals or secrets.
    log.exception("unhandled_error", error=type(exc).__name__)
    return problem(500, "internal error", request=request)


def _is_schema_error(exc: ValidationException) -> bool:
    detail = str(exc.detail).lower()
    return not ("malformed" in detail or "json is malformed" in detail or "decode" in detail)


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    TxAssistError: handle_domain_error,
    HTTPException: handle_http_exception,
    DBAPIError: handle_database_error,
    OSError: handle_os_error,
    UnicodeDecodeError: handle_undecodable,
    Exception: handle_unexpected,
}
