"""Auth and the one error shape, exercised through the real app with probe routes registered."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest
from litestar import Litestar, post
from litestar.testing import AsyncTestClient

from tests.conftest import API_KEYS, auth
from txassist.app import create_app
from txassist.config import Settings
from txassist.http.auth import requires


class Probe(msgspec.Struct):
    name: str = msgspec.field()
    count: int = 1


@post("/v1/_probe/admin", guards=[requires("admin")], sync_to_thread=False, status_code=200)
def admin_probe(data: Probe) -> dict[str, str]:
    return {"hello": data.name}


@post(
    "/v1/_probe/agent-or-platform",
    guards=[requires("agent", "platform")],
    sync_to_thread=False,
    status_code=200,
)
def agent_probe(data: Probe) -> dict[str, int]:
    return {"count": data.count}


@pytest.fixture(scope="module")
async def probe_client(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[AsyncTestClient[Litestar]]:
    # One app for the module: the checks are read-only and building an app loads the models.
    settings = Settings.from_env(
        {}, data_dir=tmp_path_factory.mktemp("probe") / "data", api_keys=API_KEYS, max_body_bytes=4096
    )
    app = create_app(settings)
    app.register(admin_probe)
    app.register(agent_probe)
    async with AsyncTestClient(app=app) as client:
        yield client


def assert_problem(response_json: dict[str, object], status: int, error_type: str) -> None:
    assert response_json["status"] == status
    assert response_json["error_type"] == error_type
    assert isinstance(response_json["detail"], str) and response_json["detail"]


async def test_missing_key_is_401_with_problem_body(probe_client: AsyncTestClient[Litestar]) -> None:
    response = await probe_client.post("/v1/_probe/admin", json={"name": "x"})
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert_problem(response.json(), 401, "unauthorized")


@pytest.mark.parametrize("header", ["Bearer nope", "Basic YWRtaW4ta2V5", "admin-key", "Bearer "])
async def test_wrong_or_malformed_key_is_401(probe_client: AsyncTestClient[Litestar], header: str) -> None:
    response = await probe_client.post("/v1/_probe/admin", json={"name": "x"}, headers={"Authorization": header})
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("key", "path", "status"),
    [
        ("admin-key", "/v1/_probe/admin", 200),
        ("all-key", "/v1/_probe/admin", 200),
        ("agent-key", "/v1/_probe/admin", 403),
        ("platform-key", "/v1/_probe/admin", 403),
        ("product-key", "/v1/_probe/admin", 403),
        ("agent-key", "/v1/_probe/agent-or-platform", 200),
        ("platform-key", "/v1/_probe/agent-or-platform", 200),
        ("product-key", "/v1/_probe/agent-or-platform", 403),
        ("admin-key", "/v1/_probe/agent-or-platform", 403),
    ],
)
async def test_scopes(probe_client: AsyncTestClient[Litestar], key: str, path: str, status: int) -> None:
    response = await probe_client.post(path, json={"name": "x"}, headers=auth(key))
    assert response.status_code == status
    if status == 403:
        assert_problem(response.json(), 403, "forbidden")


async def test_malformed_json_is_400(probe_client: AsyncTestClient[Litestar]) -> None:
    response = await probe_client.post(
        "/v1/_probe/admin",
        content=b'{"name": ',
        headers={**auth("admin-key"), "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert_problem(response.json(), 400, "bad_request")


async def test_missing_field_is_422_naming_it(probe_client: AsyncTestClient[Litestar]) -> None:
    response = await probe_client.post("/v1/_probe/admin", json={"count": 2}, headers=auth("admin-key"))
    assert response.status_code == 422
    body = response.json()
    assert_problem(body, 422, "validation_error")
    assert "name" in response.text


async def test_wrong_type_is_422(probe_client: AsyncTestClient[Litestar]) -> None:
    response = await probe_client.post(
        "/v1/_probe/agent-or-platform", json={"name": "x", "count": "many"}, headers=auth("agent-key")
    )
    assert response.status_code == 422


async def test_oversized_body_is_413(probe_client: AsyncTestClient[Litestar]) -> None:
    response = await probe_client.post("/v1/_probe/admin", json={"name": "x" * 10_000}, headers=auth("admin-key"))
    assert response.status_code == 413
    assert_problem(response.json(), 413, "payload_too_large")


async def test_unknown_route_is_404_and_wrong_method_405(probe_client: AsyncTestClient[Litestar]) -> None:
    missing = await probe_client.get("/v1/does-not-exist", headers=auth())
    assert missing.status_code == 404
    assert_problem(missing.json(), 404, "not_found")
    wrong = await probe_client.get("/v1/_probe/admin", headers=auth("admin-key"))
    assert wrong.status_code == 405


async def test_every_response_carries_request_id_and_security_headers(
    probe_client: AsyncTestClient[Litestar],
) -> None:
    response = await probe_client.get("/health/live", headers={"X-Request-ID": "abc-123"})
    assert response.headers["x-request-id"] == "abc-123"
    assert response.headers["x-content-type-options"] == "nosniff"
    generated = await probe_client.get("/health/live", headers={"X-Request-ID": "bad id with spaces"})
    assert generated.headers["x-request-id"] != "bad id with spaces"
    assert len(generated.headers["x-request-id"]) == 32


async def test_open_operational_routes(probe_client: AsyncTestClient[Litestar]) -> None:
    assert (await probe_client.get("/health/live")).status_code == 200
    ready = await probe_client.get("/health/ready")
    assert ready.status_code == 200, ready.text
    assert ready.json()["components"]["database"]["state"] == "ok"
    schema = await probe_client.get("/schema/openapi.json")
    assert schema.status_code == 200
    assert schema.json()["info"]["title"] == "txassist"
    metrics = await probe_client.get("/metrics")
    assert metrics.status_code == 200
    assert "txassist_request" in metrics.text
    info = (await probe_client.get("/info")).json()
    # The backend actually serving (``auto`` resolved), so operators can see what a replica runs.
    assert info["embedding_backend"] in {"torch", "onnx", "onnx-int8"}


def _component(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """``node`` with its ``$ref`` (and a nullable ``oneOf`` around one) followed into the components."""
    while True:
        if "$ref" in node:
            node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
        elif "oneOf" in node:
            (node,) = [option for option in node["oneOf"] if option.get("type") != "null"]
        else:
            return node


async def test_openapi_types_a_turns_signals_and_a_conversations_after_contact(
    probe_client: AsyncTestClient[Litestar],
) -> None:
    schema = (await probe_client.get("/schema/openapi.json")).json()
    turn = schema["paths"]["/v1/conversations/{conversation_id}/turns"]["post"]["responses"]
    body = _component(
        schema, next(r for code, r in turn.items() if code.startswith("2"))["content"]["application/json"]["schema"]
    )
    signals = body["properties"]["signals"]
    assert signals["type"] == "array"
    item = _component(schema, signals["items"])
    assert item.get("type") == "object"
    assert {"id", "kind", "type", "confidence", "evidence", "turn_id", "occurred_at"} <= set(item["required"])
    assert set(_component(schema, item["properties"]["kind"])["enum"]) == {"product", "churn"}
    assert item["properties"]["confidence"]["type"] == "number"

    conversation = schema["paths"]["/v1/conversations/{conversation_id}"]["get"]["responses"]["200"]
    after = _component(
        schema,
        _component(schema, conversation["content"]["application/json"]["schema"])["properties"]["after_contact"],
    )
    assert {"issue", "resolution", "next_steps", "commitments", "summary"} <= set(after["properties"])
