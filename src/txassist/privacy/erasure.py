"""Right to erasure: every row that belongs to one customer goes, pending outbox events included."""

from __future__ import annotations

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from txassist.conversations.identity import identity_key
from txassist.errors import NotFound
from txassist.privacy.pseudonym import customer_ref
from txassist.privacy.repository import PrivacyRepository
from txassist.replies.repository import LearnedReplyRepository


class ErasureReport(msgspec.Struct, kw_only=True):
    customer_id: str
    deleted: dict[str, int]

    @property
    def found(self) -> bool:
        return any(self.deleted.values())


async def erase_customer(session: AsyncSession, customer_id: str, *, pseudonym_secret: str) -> ErasureReport:
    """Delete the customer, identities, conversations, turns, suggestions, feedback, signals and
    outbox events (matched by conversation and by the customer's pseudonymous reference, so events
    queued for a customer row that is already gone are caught too). Each of the customer's ids works:
    an alias id (linked to the customer) erases the customer it stands for. Raises ``NotFound`` when
    nothing was stored under the id. The caller commits."""
    repository = PrivacyRepository(session)
    resolved = customer_id
    stored_ref = await repository.customer_pseudonym(customer_id)
    if stored_ref is None:
        owner = await repository.customer_for_alias(identity_key(pseudonym_secret, "customer_id", customer_id))
        if owner is not None:
            resolved, stored_ref = owner, await repository.customer_pseudonym(owner)
    deleted: dict[str, int] = {}
    for ref in {ref for ref in (stored_ref, customer_ref(resolved, pseudonym_secret)) if ref}:
        # Also the ref derived with today's secret: the secret may have been rotated since the
        # customer was first seen, so both generations are caught.
        _add(deleted, await repository.delete_by_customer_ref(ref))
    _add(deleted, await repository.erase_customer(resolved, stored_ref))
    # Learned replies whose every teaching conversation was this customer's go with them.
    deleted["learned_replies"] = await LearnedReplyRepository(session).delete_orphans()
    if resolved != customer_id:
        # Signals raised under the alias id before the link carry its own reference.
        _add(deleted, await repository.delete_by_customer_ref(customer_ref(customer_id, pseudonym_secret)))
    report = ErasureReport(customer_id=resolved, deleted=deleted)
    if not report.found:
        raise NotFound(f"customer {customer_id!r} not found")
    return report


def _add(total: dict[str, int], counts: dict[str, int]) -> None:
    for name, count in counts.items():
        total[name] = total.get(name, 0) + count
