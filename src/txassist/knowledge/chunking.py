"""Heading- and sentence-aware chunking with overlap, sized for the embedding model's window.

all-MiniLM-L6-v2 reads 256 word pieces and silently drops the rest, so a chunk's embedded text
(title, heading path and body) must fit that budget or its tail would be invisible to search.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable

import msgspec

from txassist.knowledge.loaders import KnowledgeDocument

TokenCounter = Callable[[list[str]], list[int]]

DEFAULT_MAX_TOKENS = 256
DEFAULT_OVERLAP_TOKENS = 32
# [CLS] and [SEP]; the "title > heading" outline is counted per section.
_SPECIAL_TOKENS = 2

# Only the opening hashes are matched by a pattern; the closing "###" is stripped with str methods.
# The old single pattern (lazy text, then optional spaces, hashes, spaces) backtracked cubically on
# a long heading line full of spaces.
_HEADING_START_RE = re.compile(r"#{1,6}(?=\s)")
_PARAGRAPH_BREAK_RE = re.compile(r"\n[^\S\n]*\n")
_LIST_MARKER_RE = re.compile(r"[-*+][ \t]+|\d{1,3}[.)][ \t]+")
MIN_UNIT_CHARS = 12
_SENTENCE_RE = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[]?[A-Z0-9])")


class Chunk(msgspec.Struct, kw_only=True):
    chunk_id: str
    document_id: str
    ordinal: int
    title: str
    heading_path: list[str]
    text: str
    url: str | None = None
    language: str = "en"  # BCP 47 of the document: which stemmer its BM25 terms went through

    @property
    def embed_text(self) -> str:
        """What the model sees: the outline gives short chunks the context their words lack."""
        return f"{outline(self.title, self.heading_path)}\n{self.text}"

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(self.embed_text.encode("utf-8")).hexdigest()


def units(chunk: Chunk) -> list[str]:
    """The chunk's sentences and list lines, each with the outline, when it has more than one.

    A FAQ article of eight example questions is one chunk whose vector is the blur of all eight;
    embedded one by one, each question can be matched on its own (the chunk scores its best unit).
    """
    parts = [_without_list_marker(s) for s in split_sentences(chunk.text)]
    parts = [p for p in parts if len(p) >= MIN_UNIT_CHARS]
    if len(parts) < 2:
        return []
    head = outline(chunk.title, chunk.heading_path)
    return [f"{head}\n{p}" for p in parts]


def _without_list_marker(line: str) -> str:
    marker = _LIST_MARKER_RE.match(line)
    return line[marker.end() :] if marker else line


def outline(title: str, heading_path: list[str]) -> str:
    return " > ".join([title, *[h for h in heading_path if h != title]])


def approx_tokens(texts: list[str]) -> list[int]:
    """A cheap estimate of word pieces (about 1.4 per English word plus punctuation), for tests."""
    counts = []
    for text in texts:
        punct = sum(text.count(c) for c in ".,;:!?()[]/$%-'\"")
        counts.append(int(len(text.split()) * 1.4) + punct + 1)
    return counts


def split_sentences(text: str) -> list[str]:
    sentences: list[str] = []
    for block in _PARAGRAPH_BREAK_RE.split(text):
        lines = [ln.strip() for ln in block.splitlines() if ln.strip()]
        for line in lines:
            # List items and table rows are units of their own; prose splits at sentence ends.
            sentences.extend(s.strip() for s in _SENTENCE_RE.split(line) if s.strip())
    return sentences


def parse_heading(line: str) -> tuple[int, str] | None:
    """(level, text) of an ATX heading line (``## Title ##``), else None; linear in the line."""
    match = _HEADING_START_RE.match(line)
    if match is None:
        return None
    return match.end(), line[match.end() :].strip().rstrip("#").rstrip()


def _sections(doc: KnowledgeDocument) -> list[tuple[list[str], str]]:
    if doc.format != "markdown":
        return [([], doc.text)]
    sections: list[tuple[list[str], str]] = []
    path: list[tuple[int, str]] = []
    buffer: list[str] = []
    in_code = False

    def flush() -> None:
        body = "\n".join(buffer).strip()
        if body:
            sections.append(([h for _, h in path], body))
        buffer.clear()

    for line in doc.text.splitlines():
        if line.strip().startswith("```"):
            in_code = not in_code
        heading = None if in_code else parse_heading(line)
        if heading is not None:
            flush()
            level, title = heading
            path = [(lvl, h) for lvl, h in path if lvl < level]
            path.append((level, title))
        else:
            buffer.append(line)
    flush()
    if not sections and path:
        # A document that is only headings still says something.
        sections.append(([h for _, h in path[:-1]], path[-1][1]))
    return sections


def _split_long(sentence: str, size: int, budget: int, count: TokenCounter) -> list[tuple[str, int]]:
    """A sentence longer than the budget is cut at word boundaries (rare: tables, run-ons)."""
    if size <= budget:
        return [(sentence, size)]
    words = sentence.split()
    word_sizes = count(words)
    pieces: list[tuple[str, int]] = []
    current: list[str] = []
    used = 0
    for word, word_size in zip(words, word_sizes, strict=True):
        if current and used + word_size > budget:
            pieces.append((" ".join(current), used))
            current, used = [], 0
        current.append(word)
        used += word_size
    if current:
        pieces.append((" ".join(current), used))
    return pieces


def chunk_document(
    doc: KnowledgeDocument,
    *,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    overlap_tokens: int = DEFAULT_OVERLAP_TOKENS,
    count: TokenCounter = approx_tokens,
) -> list[Chunk]:
    joiner = "\n" if doc.format == "markdown" else " "
    chunks: list[Chunk] = []
    sections = _sections(doc)
    for heading_path, body in sections:
        sentences = split_sentences(body)
        # One batched tokenizer call per section; the +1 covers the joining newline.
        counts = count([outline(doc.title, heading_path), *sentences])
        budget = max(32, max_tokens - _SPECIAL_TOKENS - counts[0] - 1)
        pieces = [p for s, n in zip(sentences, counts[1:], strict=True) for p in _split_long(s, n + 1, budget, count)]
        units = [p for p, _ in pieces]
        sizes = [n for _, n in pieces]
        start = 0
        while start < len(units):
            end = start
            used = 0
            while end < len(units) and (end == start or used + sizes[end] <= budget):
                used += sizes[end]
                end += 1
            chunks.append(
                Chunk(
                    chunk_id=f"{doc.id}#{len(chunks)}",
                    document_id=doc.id,
                    ordinal=len(chunks),
                    title=doc.title,
                    heading_path=heading_path,
                    text=joiner.join(units[start:end]),
                    url=doc.url,
                )
            )
            if end >= len(units):
                break
            # Overlap: the next chunk repeats the last sentences (up to the overlap budget).
            back = end
            carried = 0
            while back - 1 > start and carried + sizes[back - 1] <= overlap_tokens:
                back -= 1
                carried += sizes[back]
            start = back if back > start else end
    return chunks
