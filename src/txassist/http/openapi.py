"""OpenAPI declarations every controller shares: the problem+json error responses and extra media types.

The schema is a contract that callers (and the fuzzer, tests/reliability/test_fuzz_schema.py) hold
the service to: every status a route can answer is declared with its real media type.
"""

from __future__ import annotations

from dataclasses import dataclass

import msgspec
from litestar.openapi import ResponseSpec
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIResponse, Operation, Schema
from litestar.openapi.spec.enums import OpenAPIType

from txassist.errors import STATUSES
from txassist.http.problems import PROBLEM_MEDIA_TYPE


class Problem(msgspec.Struct, omit_defaults=True):
    """RFC 9457 problem details as txassist renders them (``txassist.http.problems.problem``)."""

    type: str
    title: str
    status: int
    detail: str
    error: str
    error_type: str
    instance: str | None = None
    request_id: str | None = None
    errors: list[dict[str, str]] | None = None  # which fields failed validation, and why


# Every guarded route: no key or the wrong scope, shed by the limiter, the database unavailable.
GUARDED = (401, 403, 429, 503)
# Routes that read a body: undecodable, too large, wrong content type, invalid.
BODY = (400, 413, 415, 422)
# Routes with typed or constrained query/path parameters.
PARAMS = (400, 422)


def problem_responses(*statuses: int) -> dict[int, ResponseSpec]:
    """``responses=`` for a route handler: each status as an ``application/problem+json`` Problem.

    400 is always included: Litestar documents a validation 400 (as plain JSON) on every route
    with parameters, and ours is rendered as problem+json.
    """
    return {
        status: ResponseSpec(
            data_container=Problem,
            media_type=PROBLEM_MEDIA_TYPE,
            description=STATUSES[status].description if status in STATUSES else "Error",
            generate_examples=False,
        )
        for status in sorted({400, *statuses})
    }


# One Server-Sent Event as OpenAPI 3.1 tools read a text/event-stream body: ``data`` is the
# event's (JSON-encoded) payload text.
SSE_EVENT = Schema(
    type=OpenAPIType.OBJECT,
    properties={
        "event": Schema(type=OpenAPIType.STRING),
        "data": Schema(type=OpenAPIType.STRING),
        "id": Schema(type=OpenAPIType.STRING),
        "retry": Schema(type=OpenAPIType.INTEGER),
    },
    required=["data"],
)


def _media_schema(media_type: str) -> Schema:
    return SSE_EVENT if media_type == "text/event-stream" else Schema(type=OpenAPIType.STRING)


def with_media_types(status: int, *media_types: str, description: str | None = None) -> type[Operation]:
    """An ``operation_class=`` that documents ``status`` as (also) answered in ``media_types``.

    ``ResponseSpec`` carries one media type per status; a route that streams NDJSON or CSV by a
    query parameter, or Server-Sent Events under another status, needs them all in its schema.
    """

    @dataclass
    class _Operation(Operation):
        def __post_init__(self) -> None:
            responses = self.responses if self.responses is not None else {}
            response = responses.get(str(status))
            if not isinstance(response, OpenAPIResponse):
                response = OpenAPIResponse(description=description or "Streamed", content={})
                responses[str(status)] = response
                self.responses = responses
            content = dict(response.content or {})
            for media_type in media_types:
                content[media_type] = OpenAPIMediaType(schema=_media_schema(media_type))
            response.content = content

    return _Operation
