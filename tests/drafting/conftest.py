from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.drafting.support import FakeLLMServer


@pytest.fixture(scope="session")
def llm_server() -> Iterator[FakeLLMServer]:
    server = FakeLLMServer().start()
    yield server
    server.stop()
