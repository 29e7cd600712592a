"""No PII in logs: the access log names the route template and keyed hashes of path ids, and no line
of a request repeats a raw id from its path or query."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
import structlog
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.conftest import auth

EMAIL_ID = "jane.doe@example.com"
PHONE_ID = "+44-7700-900123"


def _lines(err: str) -> list[dict[str, Any]]:
    out = []
    for line in err.splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_access_log_has_route_template_and_hashed_ids(client: AsyncTestClient[Litestar]) -> None:
    # The app's own processors, writing into a buffer instead of stderr.
    stream = io.StringIO()
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(stream))
    # Unknown customer (404, whose detail names the id), a conversation id shaped like a phone number,
    # and a query string carrying an email.
    assert (await client.get(f"/v1/customers/{EMAIL_ID}/context", headers=auth("agent-key"))).status_code == 404
    assert (await client.get(f"/v1/conversations/{PHONE_ID}", headers=auth("agent-key"))).status_code == 404
    found = await client.get(f"/v1/kb/search?q={EMAIL_ID}", headers=auth("agent-key"))
    assert found.status_code in (200, 503)
    err = stream.getvalue()
    server_lines = [line for line in _lines(err) if not str(line.get("event", "")).startswith("HTTP Request")]
    text = json.dumps(server_lines)
    for raw in (EMAIL_ID, PHONE_ID, "jane.doe", "7700", "900123"):
        assert raw not in text, raw
    access = [line for line in server_lines if line.get("event") == "request"]
    assert [line["route"] for line in access] == [
        "/v1/customers/{customer_id}/context",
        "/v1/conversations/{conversation_id}",
        "/v1/kb/search",
    ]
    assert all("path" not in line for line in access)
    first, second, _ = (line["path_ids"] for line in access)
    assert set(first) == {"customer_id"} and len(first["customer_id"]) == 16
    assert set(second) == {"conversation_id"}
    # Keyed and stable: the same id gives the same hash, so requests still correlate.
    await client.get(f"/v1/customers/{EMAIL_ID}/context", headers=auth("agent-key"))
    again = [line for line in _lines(stream.getvalue()) if line.get("event") == "request"]
    assert again[-1]["path_ids"] == first
