"""The one JSON shape the code leaves open."""

from __future__ import annotations

from typing import Any, TypeAlias

# A JSON object whose shape its producer decides: document metadata, an LLM's reply, a JSON column, a
# request body sent on. Open values rather than ``object``: Litestar's OpenAPI schema cannot render
# ``object``, and each reader checks the values it takes out.
JsonObject: TypeAlias = dict[str, Any]
