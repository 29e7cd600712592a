"""Schemathesis against the app's own OpenAPI schema, in-process over ASGI, with an all-scopes key.

Every operation is fuzzed; no response may be a 5xx or break the documented schema. CI runs at
least 1,000 generated cases; ``make fuzz`` (benchmarks/fuzz.py) runs many more.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from litestar import Litestar
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.reliability.helpers import KEYS, bearer
from txassist.app import create_app
from txassist.config import Settings

EXAMPLES_PER_OPERATION = int(os.environ.get("TXASSIST_FUZZ_EXAMPLES", "60"))
MIN_CASES = 1000


def fuzz_app(data_dir: Path) -> Litestar:
    """The app as fuzzed: limits off (the fuzzer is one fast client), everything else as shipped,
    except that the LLM upstreams answer at once: a request may pick ``backend: local`` or
    ``openai``, and a 1.5B model at a few tokens a second on a shared CPU would spend the whole
    budget on a handful of drafts. The fuzzer is after the HTTP contract; the unavailable and
    refused upstreams it meets instead (documented 502/503, or the extractive fallback) are
    part of that contract. tests/drafting covers the models themselves."""
    settings = Settings.from_env(
        {},
        data_dir=data_dir,
        api_keys=KEYS,
        log_level="warning",
        rate_limit_per_s=0.0,
        auth_failure_limit=0,
        concurrency_limits={},
        openai_base_url="http://127.0.0.1:9/v1",  # discard port: refused at once
        local_model_path=str(data_dir / "no-such-model.gguf"),
        llm_timeout_s=2.0,
        llm_max_retries=0,
    )
    return create_app(settings)


# The response side of the contract: no 5xx, and every status, media type, body and header as
# documented. Left out: positive_data_acceptance (a schema-valid request must be accepted). Our
# bodies are msgspec Structs with forbid_unknown_fields, and Litestar 2 does not emit
# ``additionalProperties: false`` for them, nor can OpenAPI state cross-field rules (since before
# until, a text that is not blank), so that check flags correct 422s; those rules are tested in
# test_input_hardening.py and each capability's tests.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


def _fuzzer(operation: Any, cases: dict[str, int]) -> Callable[[], None]:
    label = operation.label
    # A 503 from the readiness probe is its documented "not ready" answer (some optional model may
    # be missing on a test machine), not a server error; its body is still checked against the schema.
    checks = [c for c in CHECKS if c is not not_a_server_error] if label == "GET /health/ready" else CHECKS

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def fuzz(case: schemathesis.Case[Any]) -> None:
        cases[label] = cases.get(label, 0) + 1
        case.call_and_validate(headers=bearer("all-key"), checks=checks)

    return fuzz


def test_no_5xx_and_responses_conform(tmp_path: Path) -> None:
    # Driven by hand rather than through schemathesis' pytest plugin: one app (one model load, one
    # lifespan) for every operation, and every failing operation reported, not only the first.
    schema = schemathesis.openapi.from_asgi("/schema/openapi.json", fuzz_app(tmp_path / "data"))
    failures: dict[str, str] = {}
    cases: dict[str, int] = {}
    for result in schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]  # an invalid operation fails the test here
        try:
            _fuzzer(operation, cases)()
        except (Exception, BaseExceptionGroup) as exc:  # every failing operation is reported together
            failures[operation.label] = str(exc)[:3000]
    total = sum(cases.values())
    if counts_file := os.environ.get("TXASSIST_FUZZ_COUNTS"):
        Path(counts_file).write_text(json.dumps(cases, indent=2, sort_keys=True))
    assert failures == {}, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())
    assert len(cases) >= 3
    assert total >= MIN_CASES or EXAMPLES_PER_OPERATION < 60, f"only {total} cases over {len(cases)} operations"
