"""Turn files and request bodies into ``KnowledgeDocument`` values (one per article or FAQ entry).

Every loader refuses what it cannot read faithfully (empty text, broken bytes, unknown types)
with ``InvalidInput`` / ``UnsupportedMediaType`` so that nothing half-parsed reaches the index.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import msgspec

from txassist.errors import InvalidInput, UnsupportedMediaType
from txassist.jsontypes import JsonObject
from txassist.knowledge.pdf import PdfText, extract_pdf

PdfExtractor = Callable[[bytes, str], PdfText]
DEFAULT_MAX_PDF_PAGES = 500

SUPPORTED_SUFFIXES = {".md", ".markdown", ".html", ".htm", ".txt", ".json", ".csv", ".pdf"}
MAX_ID_CHARS = 256
MAX_URL_CHARS = 2_000
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
# Spaces and tabs only around the fences: with \s the opening fence could swallow newlines and
# backtrack over each of them, rescanning the whole text every time (quadratic).
_FRONT_MATTER_RE = re.compile(r"\A---[ \t\r]*\n(.*?)\n---[ \t\r]*(?:\n|\Z)", re.DOTALL)


class KnowledgeDocument(msgspec.Struct, kw_only=True):
    id: str
    title: str
    text: str
    format: str = "markdown"  # markdown | text: how the chunker reads headings
    url: str | None = None
    source: str | None = None
    updated: str | None = None
    metadata: JsonObject = msgspec.field(default_factory=dict)

    def content_hash(self) -> str:
        payload = msgspec.json.encode([self.title, self.text, self.url, self.format])
        return hashlib.sha256(payload).hexdigest()


def normalise_id(raw: str) -> str:
    """A document id as given: help centres use paths (``billing/refunds.md``), ``?``, spaces and
    non-ASCII, and a caller must find the document again under the id it sent. Only empty,
    over-long and control-character ids are refused."""
    if not raw.strip():
        raise InvalidInput("document id is empty")
    if raw in {".", ".."}:
        raise InvalidInput("'.' and '..' cannot be document ids: URLs resolve them away")
    if len(raw) > MAX_ID_CHARS:
        raise InvalidInput(f"document id is longer than {MAX_ID_CHARS} characters")
    if _CONTROL_RE.search(raw):
        raise InvalidInput("document id contains control characters")
    return raw


def check_url(url: str) -> str:
    """An absolute http(s) URL or ``InvalidInput``: agents click these and drafts quote them, so
    ``javascript:``, ``data:``, ``file:`` and relative links never reach the index."""
    if len(url) > MAX_URL_CHARS:
        raise InvalidInput(f"url is longer than {MAX_URL_CHARS} characters")
    if _CONTROL_RE.search(url) or any(ch.isspace() for ch in url):
        raise InvalidInput("url contains whitespace or control characters")
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise InvalidInput(f"url is not valid: {exc}") from exc
    if parts.scheme.lower() not in {"http", "https"} or not parts.netloc:
        raise InvalidInput("url must be an absolute http:// or https:// URL")
    return url


def make_document(
    *,
    doc_id: str | None,
    title: str | None,
    text: str,
    fmt: str = "markdown",
    url: str | None = None,
    source: str | None = None,
    updated: str | None = None,
    metadata: JsonObject | None = None,
) -> KnowledgeDocument:
    if not text or not text.strip():
        raise InvalidInput(f"document {doc_id or source or ''} has no text".replace("  ", " "))
    if "\x00" in text:
        raise InvalidInput("document text contains NUL bytes")
    title = (title or "").strip() or _first_heading(text) or (Path(source).stem if source else "Untitled")
    if url:
        url = check_url(url)
    if doc_id:
        doc_id = normalise_id(doc_id)
    else:
        doc_id = "doc-" + hashlib.sha256(f"{source}|{title}|{text}".encode()).hexdigest()[:16]
    return KnowledgeDocument(
        id=doc_id,
        title=title[:500],
        text=text.strip(),
        format=fmt,
        url=url or None,
        source=source,
        updated=str(updated) if updated else None,
        metadata=metadata or {},
    )


def decode_text(data: bytes, name: str) -> str:
    if b"\x00" in data:
        raise InvalidInput(f"{name}: binary content is not a text document")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{name}: not valid UTF-8 (byte {exc.start})") from exc


def load_bytes(
    data: bytes, name: str, *, source: str | None = None, extract_pdf: PdfExtractor | None = None
) -> list[KnowledgeDocument]:
    """Documents in one uploaded or read file; the suffix of ``name`` picks the loader.

    ``extract_pdf`` replaces the in-process PDF reader (uploads pass the isolated worker).
    """
    suffix = Path(name).suffix.lower()
    source = source or name
    if suffix not in SUPPORTED_SUFFIXES:
        raise UnsupportedMediaType(f"{name}: unsupported file type {suffix or '(none)'}")
    if suffix == ".pdf":
        return [_load_pdf(data, name, source, extract_pdf)]
    text = decode_text(data, name)
    if suffix in {".md", ".markdown"}:
        return [parse_markdown(text, source=source, default_id=Path(name).stem)]
    if suffix in {".html", ".htm"}:
        return [parse_html(text, source=source, default_id=Path(name).stem)]
    if suffix == ".txt":
        return [make_document(doc_id=Path(name).stem, title=None, text=text, fmt="text", source=source)]
    if suffix == ".json":
        return parse_faq_json(text, source=source)
    return parse_faq_csv(text, source=source)


def load_path(path: Path) -> list[KnowledgeDocument]:
    return load_bytes(path.read_bytes(), path.name, source=str(path))


def iter_files(paths: list[Path]) -> Iterator[Path]:
    """Supported files under ``paths`` (folders recursively, sorted); README files are skipped."""
    for path in paths:
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.is_file() and child.suffix.lower() in SUPPORTED_SUFFIXES and _wanted(child):
                    yield child
        elif path.is_file():
            yield path
        else:
            raise InvalidInput(f"{path}: no such file or folder")


def _wanted(path: Path) -> bool:
    # A folder's README describes the folder, it is not an article.
    return path.stem.lower() != "readme" and not any(part.startswith(".") for part in path.parts)


def parse_front_matter(text: str) -> tuple[JsonObject, str]:
    """The small YAML subset help-centre exports use: ``key: value`` and ``key: [a, b]``."""
    match = _FRONT_MATTER_RE.match(text)
    if not match:
        return {}, text
    meta: JsonObject = {}
    for line in match.group(1).splitlines():
        key, sep, value = line.partition(":")
        if not sep or not key.strip() or line.startswith((" ", "\t", "#")):
            continue
        value = value.strip()
        if value.startswith("[") and value.endswith("]"):
            meta[key.strip()] = [_unquote(v) for v in value[1:-1].split(",") if v.strip()]
        else:
            meta[key.strip()] = _unquote(value)
    return meta, text[match.end() :]


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def parse_markdown(text: str, *, source: str | None = None, default_id: str | None = None) -> KnowledgeDocument:
    meta, body = parse_front_matter(text)
    known = {"id", "title", "url", "updated"}
    return make_document(
        doc_id=str(meta.get("id") or default_id or "") or None,
        title=str(meta["title"]) if meta.get("title") else None,
        text=body,
        fmt="markdown",
        url=str(meta["url"]) if meta.get("url") else None,
        source=source,
        updated=str(meta["updated"]) if meta.get("updated") else None,
        metadata={k: v for k, v in meta.items() if k not in known},
    )


def parse_html(text: str, *, source: str | None = None, default_id: str | None = None) -> KnowledgeDocument:
    """HTML to Markdown-like text: headings become ``#`` lines so the chunker keeps the outline."""
    from selectolax.lexbor import LexborHTMLParser as HTMLParser

    tree = HTMLParser(text)
    for node in tree.css("script, style, nav, header, footer, noscript, template"):
        node.decompose()
    title_node = tree.css_first("title")
    title = title_node.text(strip=True) if title_node else None
    body = tree.body or tree.root
    lines: list[str] = []
    if body is not None:
        for node in body.css("h1, h2, h3, h4, h5, h6, p, li, td, th, pre, blockquote, dt, dd"):
            content = " ".join(node.text(separator=" ").split())
            if not content:
                continue
            if node.tag and node.tag[0] == "h" and node.tag[1:].isdigit():
                lines.append("\n" + "#" * int(node.tag[1:]) + " " + content)
            elif node.tag == "li":
                lines.append("- " + content)
            else:
                lines.append(content)
    if not lines and body is not None:
        # Markup without block elements (or badly broken markup): keep whatever text survived.
        lines = [" ".join(body.text(separator=" ").split())]
    canonical = tree.css_first("link[rel=canonical]")
    url = canonical.attributes.get("href") if canonical else None
    if url is not None and not _is_http_url(url):
        url = None  # a relative or non-web canonical link is dropped, not the page
    return make_document(doc_id=default_id, title=title, text="\n".join(lines), fmt="markdown", url=url, source=source)


def _faq_document(entry: JsonObject, index: int, source: str | None) -> KnowledgeDocument:
    lowered = {str(k).lower(): v for k, v in entry.items()}
    question = str(lowered.get("question") or lowered.get("title") or "").strip()
    answer = str(lowered.get("answer") or lowered.get("text") or lowered.get("body") or "").strip()
    if not answer:
        raise InvalidInput(f"{source or 'FAQ'} entry {index}: missing answer/text")
    base = Path(source).stem if source else "faq"
    raw_id = lowered.get("id") or f"{base}-{index}"
    reserved = {"id", "question", "title", "answer", "text", "body", "url"}
    extra = {k: v for k, v in lowered.items() if k not in reserved}
    text = f"# {question}\n\n{answer}" if question else answer
    return make_document(
        doc_id=str(raw_id),
        title=question or None,
        text=text,
        url=str(lowered["url"]) if lowered.get("url") else None,
        source=source,
        metadata=extra,
    )


def parse_faq_json(text: str, *, source: str | None = None) -> list[KnowledgeDocument]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"{source or 'JSON'}: invalid JSON ({exc.msg} at line {exc.lineno})") from exc
    if isinstance(data, dict):
        data = data.get("documents", data.get("faq", [data]))
    if not isinstance(data, list) or not data:
        raise InvalidInput(f"{source or 'JSON'}: expected a non-empty list of question/answer objects")
    docs = []
    for i, entry in enumerate(data):
        if not isinstance(entry, dict):
            raise InvalidInput(f"{source or 'JSON'} entry {i}: expected an object")
        docs.append(_faq_document(entry, i, source))
    return docs


def parse_faq_csv(text: str, *, source: str | None = None) -> list[KnowledgeDocument]:
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames:
        raise InvalidInput(f"{source or 'CSV'}: no header row")
    docs = [_faq_document(dict(row), i, source) for i, row in enumerate(reader)]
    if not docs:
        raise InvalidInput(f"{source or 'CSV'}: no rows")
    return docs


def _load_pdf(data: bytes, name: str, source: str, extract: PdfExtractor | None) -> KnowledgeDocument:
    extract = extract or functools.partial(extract_pdf, max_pages=DEFAULT_MAX_PDF_PAGES)
    extracted = extract(data, name)
    text = "\n\n".join(extracted.pages)
    return make_document(doc_id=Path(name).stem, title=extracted.title, text=text, fmt="text", source=source)


def _is_http_url(url: str) -> bool:
    try:
        check_url(url)
    except InvalidInput:
        return False
    return True


def _first_heading(text: str) -> str | None:
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            return stripped.lstrip("#").strip() or None
        if stripped:
            return None
    return None
