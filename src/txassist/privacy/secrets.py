"""The pseudonym secret when none is configured: generated once, kept in the data directory.

A constant default would let anyone who reads the code reverse ``customer_ref`` values and identity
hashes by trying candidate ids, and mint signal cursors. The generated secret is written to a private
temporary file and hard-linked into place: the link either creates the final name (with the whole
secret already in it) or fails because another replica sharing the data directory won, in which case
its secret is read. Either way every replica ends up with the same one.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

import msgspec
import structlog

from txassist.config import Settings

log = structlog.get_logger("txassist.privacy.secrets")

SECRET_FILE = "pseudonym_secret"  # noqa: S105  (a file name)


def secret_path(settings: Settings) -> Path:
    return settings.data_dir / SECRET_FILE


def with_pseudonym_secret(settings: Settings) -> Settings:
    """``settings`` with ``pseudonym_secret`` set: as configured, else the data directory's own."""
    if settings.pseudonym_secret:
        return settings
    return msgspec.structs.replace(settings, pseudonym_secret=load_or_create_secret(secret_path(settings)))


def load_or_create_secret(path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    existing = _read(path)
    if existing is not None:
        return existing
    candidate = secrets.token_urlsafe(32)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(candidate)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            found = _read(path)
            if found is None:
                raise RuntimeError(f"{path} exists but holds no secret") from None
            return found
    finally:
        temporary.unlink(missing_ok=True)
    log.warning("pseudonym_secret_generated", path=str(path), hint="set TXASSIST_PSEUDONYM_SECRET in production")
    return candidate


def _read(path: Path) -> str | None:
    try:
        mode = path.stat().st_mode
        value = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return None
    if stat.S_IMODE(mode) & 0o077:
        log.warning("pseudonym_secret_file_readable_by_others", path=str(path), mode=oct(stat.S_IMODE(mode)))
    return value or None
