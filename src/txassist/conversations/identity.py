"""Identity keys and resolution: how an email, phone number or handle seen on one channel finds the same
customer, and why a claimed one never opens another customer's history.

Only keyed hashes are stored: matching needs equality, not the address itself, so the database never
holds a customer's email or phone number in clear.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Literal, Protocol

import msgspec
import phonenumbers

from txassist.conversations.repository import ConversationRepository, IdentityOwner
from txassist.privacy.pseudonym import customer_ref

IdentityKind = Literal["email", "phone", "handle", "customer_id"]


def normalize(kind: IdentityKind, value: str) -> str:
    """The form two spellings of one identity share (case, spaces, phone punctuation)."""
    value = value.strip()
    if kind == "email":
        return value.lower()
    if kind == "phone":
        return _normalize_phone(value)
    if kind == "handle":
        return value.lstrip("@").lower()
    return value


def _normalize_phone(value: str) -> str:
    try:
        parsed = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        # No country code given: the digits alone still match the same caller on another channel.
        return "".join(ch for ch in value if ch.isdigit())
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def identity_key(secret: str, kind: IdentityKind, value: str) -> str:
    """A keyed hash of the normalised identity; what ``customer_identities.value`` holds."""
    message = f"{kind}:{normalize(kind, value)}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def customer_pseudonym(secret: str, customer_id: str) -> str:
    """The stable reference that leaves the service (signals, TX store) instead of the customer id."""
    return customer_ref(customer_id, secret)


class PresentedIdentity(Protocol):
    """What a turn says about who the customer is (``assist.schemas.IdentityIn``)."""

    @property
    def email(self) -> str | None: ...
    @property
    def phone(self) -> str | None: ...
    @property
    def handle(self) -> str | None: ...
    @property
    def verified(self) -> VerifiedKinds | None: ...


class VerifiedKinds(Protocol):
    @property
    def email(self) -> bool: ...
    @property
    def phone(self) -> bool: ...
    @property
    def handle(self) -> bool: ...


class IdentityClaim(msgspec.Struct, frozen=True):
    kind: IdentityKind
    key: str
    verified: bool

    @property
    def pair(self) -> tuple[str, str]:
        return (self.kind, self.key)


class Resolution(msgspec.Struct):
    """Who a turn's customer is, and what the write phase stores about it."""

    customer_id: str
    is_new: bool
    links: list[IdentityClaim] = msgspec.field(default_factory=list)
    verify: list[IdentityClaim] = msgspec.field(default_factory=list)  # own links now asserted verified
    matches: list[tuple[str, str]] = msgspec.field(default_factory=list)  # new (other customer, kind)


class IdentityResolver:
    """Resolves a turn's customer id and identities; nothing taken on trust moves or merges a customer.

    A new id joins an existing customer only through a verified identity whose stored link is verified
    too. Every other identity already linked to someone else becomes a possible match, which agents see
    and confirm (``link``); an identity never moves from the customer it is linked to.
    """

    def __init__(self, repo: ConversationRepository, secret: str) -> None:
        self.repo = repo
        self.secret = secret

    def claims(self, identity: PresentedIdentity | None) -> list[IdentityClaim]:
        if identity is None:
            return []
        verified = identity.verified
        given: list[tuple[IdentityKind, str | None, bool]] = [
            ("email", identity.email, bool(verified and verified.email)),
            ("phone", identity.phone, bool(verified and verified.phone)),
            ("handle", identity.handle, bool(verified and verified.handle)),
        ]
        return [IdentityClaim(kind, identity_key(self.secret, kind, value), ok) for kind, value, ok in given if value]

    def alias_key(self, customer_id: str) -> str:
        return identity_key(self.secret, "customer_id", customer_id)

    async def resolve(
        self, customer_id: str, identity: PresentedIdentity | None, conversation_customer_id: str | None
    ) -> Resolution:
        if identity is None and conversation_customer_id == customer_id:
            # The common turn: the conversation's row already proves the customer exists (foreign key).
            return Resolution(customer_id, False)
        claims = self.claims(identity)
        owners = await self.repo.identity_owners([claim.pair for claim in claims])
        resolution = await self._base(customer_id, claims, owners)
        for claim in claims:
            owner = owners.get(claim.pair)
            if owner is None:
                resolution.links.append(claim)
            elif owner.customer_id == resolution.customer_id:
                if claim.verified and not owner.verified:
                    resolution.verify.append(claim)
            elif (owner.customer_id, claim.kind) not in resolution.matches:
                resolution.matches.append((owner.customer_id, claim.kind))
        if resolution.matches and not resolution.is_new:
            stored = await self.repo.possible_matches(resolution.customer_id)
            resolution.matches = [match for match in resolution.matches if match not in stored]
        return resolution

    async def _base(
        self, customer_id: str, claims: list[IdentityClaim], owners: dict[tuple[str, str], IdentityOwner]
    ) -> Resolution:
        if await self.repo.customer_exists(customer_id):
            return Resolution(customer_id, False)
        aliased = await self.repo.customer_for_identity("customer_id", self.alias_key(customer_id))
        if aliased is not None:
            return Resolution(aliased, False)
        for claim in claims:
            owner = owners.get(claim.pair)
            if claim.verified and owner is not None and owner.verified:
                # The platform vouches for the identity and so did the one that linked it: same person.
                alias = IdentityClaim("customer_id", self.alias_key(customer_id), True)
                return Resolution(owner.customer_id, False, links=[alias])
        return Resolution(customer_id, True)

    async def store(self, resolution: Resolution) -> None:
        """Write what ``resolve`` found; part of the turn's write phase (the caller commits)."""
        if resolution.is_new:
            self.repo.add_customer(resolution.customer_id, customer_pseudonym(self.secret, resolution.customer_id))
        for claim in resolution.links:
            self.repo.add_identity(resolution.customer_id, claim.kind, claim.key, verified=claim.verified)
        for claim in resolution.verify:
            await self.repo.mark_verified(resolution.customer_id, claim.kind, claim.key)
        for other, kind in resolution.matches:
            self.repo.add_match(resolution.customer_id, other, kind)
        if resolution.is_new or resolution.links or resolution.matches:
            # Flushed before the conversation row, which references the customer.
            await self.repo.flush()
