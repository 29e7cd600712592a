"""Request and response bodies of the privacy routes."""

from __future__ import annotations

from typing import Annotated

import msgspec

TableName = Annotated[str, msgspec.Meta(max_length=64)]
RowCount = Annotated[int, msgspec.Meta(ge=0)]


class ErasureOut(msgspec.Struct, kw_only=True):
    customer_id: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
    deleted: dict[TableName, RowCount]
    """Rows removed per table; all zero when nothing was stored for this customer."""
