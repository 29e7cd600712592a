"""Right to erasure: every row that belongs to one customer goes, pending outbox events included."""

from __future__ import annotations

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from txassist.privacy.pseudonym import customer_ref
from txassist.privacy.repository import PrivacyRepository


class ErasureReport(msgspec.Struct, kw_only=True):
    customer_id: str
    deleted: dict[str, int]

    @property
    def found(self) -> bool:
        return any(self.deleted.values())


async def erase_customer(session: AsyncSession, customer_id: str, *, pseudonym_secret: str) -> ErasureReport:
    """Delete the customer, identities, conversations, turns, suggestions, feedback, signals and
    outbox events (matched by conversation and by the customer's pseudonymous reference, so events
    queued for a customer row that is already gone are caught too). The caller commits."""
    repository = PrivacyRepository(session)
    stored_ref = await repository.customer_pseudonym(customer_id)
    derived_ref = customer_ref(customer_id, pseudonym_secret)
    deleted = await repository.erase_customer(customer_id, stored_ref or derived_ref)
    if stored_ref is not None and stored_ref != derived_ref:
        # The secret was rotated since the customer was first seen: catch both generations.
        for name, count in (await repository.delete_by_customer_ref(derived_ref)).items():
            deleted[name] = deleted.get(name, 0) + count
    return ErasureReport(customer_id=customer_id, deleted=deleted)
