"""PDF text extraction in a separate process with a time and a page budget.

pypdf is pure Python: a few kilobytes of PDF can hold a compressed content stream that many pages
share, and extracting it costs seconds per page while holding the GIL. In the server's process that
freezes every request, thread or not. A child process (from a forkserver, so no threads or locks of
the server are inherited) does the parsing; past the time budget it is killed and the upload is
refused with 422.
"""

from __future__ import annotations

import io
import multiprocessing
import multiprocessing.connection
import threading
from dataclasses import dataclass

from txassist.errors import InvalidInput

_CONTEXT_LOCK = threading.Lock()
_CONTEXT: multiprocessing.context.BaseContext | None = None


@dataclass(frozen=True)
class PdfText:
    title: str | None
    pages: list[str]


def extract_pdf(data: bytes, name: str, *, max_pages: int) -> PdfText:
    """In-process extraction (the worker's body; the CLI uses it for an operator's own files)."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        count = len(reader.pages)
        if count > max_pages:
            raise InvalidInput(f"{name}: {count} pages, more than the {max_pages} allowed")
        pages = [page.extract_text() or "" for page in reader.pages]
        info_title = reader.metadata.title if reader.metadata else None
    except InvalidInput:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError, RecursionError) as exc:
        raise InvalidInput(f"{name}: unreadable PDF ({type(exc).__name__})") from exc
    return PdfText(title=str(info_title) if info_title else None, pages=pages)


def _child(conn: multiprocessing.connection.Connection, data: bytes, name: str, max_pages: int) -> None:
    try:
        result: tuple[str, object] = ("ok", extract_pdf(data, name, max_pages=max_pages))
    except InvalidInput as exc:
        result = ("invalid", str(exc))
    except Exception as exc:  # anything else pypdf raises on hostile input is still the file's fault
        result = ("invalid", f"{name}: unreadable PDF ({type(exc).__name__})")
    conn.send(result)
    conn.close()


def _context() -> multiprocessing.context.BaseContext:
    global _CONTEXT
    with _CONTEXT_LOCK:
        if _CONTEXT is None:
            context = multiprocessing.get_context("forkserver")
            # The forkserver imports pypdf once; each parse then forks from that small process.
            context.set_forkserver_preload(["txassist.knowledge.pdf", "pypdf"])
            _CONTEXT = context
        return _CONTEXT


def extract_pdf_isolated(data: bytes, name: str, *, timeout_s: float, max_pages: int) -> PdfText:
    """``extract_pdf`` in a child process; ``InvalidInput`` when it fails or runs past ``timeout_s``.

    Blocking (it waits for the child): call it from a worker thread.
    """
    context = _context()
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(sender, data, name, max_pages), daemon=True)  # type: ignore[attr-defined]
    process.start()
    sender.close()
    try:
        if not receiver.poll(timeout_s):
            raise InvalidInput(f"{name}: parsing took longer than {timeout_s:g} s; the PDF is refused")
        try:
            status, payload = receiver.recv()
        except EOFError as exc:  # the child died (out of memory, a crash in a C extension)
            raise InvalidInput(f"{name}: the PDF could not be parsed") from exc
    finally:
        if process.is_alive():
            process.kill()
        process.join(5)
        receiver.close()
    if status != "ok":
        raise InvalidInput(str(payload))
    assert isinstance(payload, PdfText)
    return payload
