from __future__ import annotations

from pathlib import Path

import pytest

from txassist.errors import InvalidInput, UnsupportedMediaType
from txassist.knowledge.chunking import chunk_document
from txassist.knowledge.loaders import iter_files, load_bytes, load_path, parse_front_matter

REPO = Path(__file__).resolve().parents[2]


def test_markdown_front_matter_fields() -> None:
    text = "---\nid: a-1\ntitle: Reset\nurl: https://x/y\nupdated: 2026-01-02\ntags: [a, b]\n---\n# Reset\n\nDo it."
    [doc] = load_bytes(text.encode(), "reset.md")
    assert (doc.id, doc.title, doc.url, doc.updated) == ("a-1", "Reset", "https://x/y", "2026-01-02")
    assert doc.metadata["tags"] == ["a", "b"]
    assert doc.text.startswith("# Reset")


def test_demo_kb_loads_every_article() -> None:
    files = list(iter_files([REPO / "examples" / "kb"]))
    assert len(files) >= 30
    assert all(f.name.lower() != "readme.md" for f in files)
    docs = [d for f in files for d in load_path(f)]
    assert len({d.id for d in docs}) == len(docs)
    assert all(d.url and d.title and d.metadata.get("product_area") for d in docs)


def test_html_headings_become_outline() -> None:
    html = b"<html><head><title>Returns</title><script>x()</script></head><body><h1>Returns</h1>"
    html += b"<p>Send it back.</p><h2>Labels</h2><ul><li>Print the label.</li></ul></body></html>"
    [doc] = load_bytes(html, "returns.html")
    assert doc.title == "Returns"
    assert "x()" not in doc.text
    chunks = chunk_document(doc)
    assert chunks[-1].heading_path == ["Returns", "Labels"]


def test_broken_html_still_yields_text() -> None:
    [doc] = load_bytes(b"<div><p>Unclosed <b>bold <i>text</div></p><h2>Tail", "broken.html")
    assert "Unclosed" in doc.text


@pytest.mark.parametrize(
    ("data", "name", "error"),
    [
        (b"", "empty.md", InvalidInput),
        (b"   \n\n", "blank.txt", InvalidInput),
        (b"---\nid: x\n---\n", "front-only.md", InvalidInput),
        (b"\xff\xfe\x00bad", "bad.txt", InvalidInput),
        (b"caf\xe9 latin-1", "latin.md", InvalidInput),
        (b"<html></html>", "empty.html", InvalidInput),
        (b"MZ\x90\x00", "tool.exe", UnsupportedMediaType),
        (b"text", "noext", UnsupportedMediaType),
        (b"%PDF-1.4 garbage", "broken.pdf", InvalidInput),
        (b"{not json", "faq.json", InvalidInput),
        (b"[]", "faq.json", InvalidInput),
        (b'[{"question": "q"}]', "faq.json", InvalidInput),
        (b"question,answer\n", "faq.csv", InvalidInput),
    ],
)
def test_bad_input_is_refused(data: bytes, name: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        load_bytes(data, name)


def test_faq_json_and_csv() -> None:
    docs = load_bytes(b'[{"id": "q1", "question": "How do I pause?", "answer": "Use Plans."}]', "faq.json")
    assert docs[0].id == "q1" and docs[0].title == "How do I pause?"
    csv_docs = load_bytes(b"question,answer,url\nWhy?,Because.,https://a\nHow?,Like so.,\n", "faq.csv")
    assert [d.title for d in csv_docs] == ["Why?", "How?"]
    assert csv_docs[0].url == "https://a"


def test_front_matter_absent() -> None:
    assert parse_front_matter("# Title\n") == ({}, "# Title\n")
