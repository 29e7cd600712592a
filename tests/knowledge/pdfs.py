"""PDFs built byte by byte for the upload tests (no fixture files in the repository)."""

from __future__ import annotations

import zlib


def shared_stream_pdf(pages: int, ops: int) -> bytes:
    """A tiny PDF whose pages all draw one compressed content stream of ``ops`` text operators:
    a couple of kilobytes on the wire, most of a second of pure-Python parsing per 100k operators and page."""
    content = ("BT /F1 12 Tf 72 720 Td " + "(x) Tj " * ops + "ET").encode()
    packed = zlib.compress(content, 9)
    kids = " ".join(f"{3 + i} 0 R" for i in range(pages))
    font, stream = 3 + pages, 4 + pages
    page = (
        f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {stream} 0 R "
        f"/Resources << /Font << /F1 {font} 0 R >> >> >>"
    )
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>".encode()]
    objects += [page.encode()] * pages
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    objects.append(f"<< /Length {len(packed)} /Filter /FlateDecode >>\nstream\n".encode() + packed + b"\nendstream")
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return out
