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


def _tiny_pdf(lines: list[str], title: str) -> bytes:
    """A valid one-page PDF with real text objects (Helvetica), built by hand with its xref table."""
    content = "BT /F1 12 Tf 72 720 Td 14 TL " + " ".join(f"({line}) '" for line in lines) + " ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        "/Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(content)} >>\nstream\n{content}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        f"<< /Title ({title}) >>",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Info 6 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return out


def test_pdf_text_and_title_are_extracted_and_chunked() -> None:
    pdf = _tiny_pdf(["Thermo battery care", "Charge the probe for two hours before first use."], "Battery guide")
    [doc] = load_bytes(pdf, "battery-guide.pdf")
    assert doc.id == "battery-guide"
    assert doc.title == "Battery guide"
    assert "Charge the probe for two hours" in doc.text
    chunks = chunk_document(doc, max_tokens=256)
    assert chunks and "two hours" in chunks[0].text
