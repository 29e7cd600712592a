"""``txassist kb ingest|search|stats|delete``: build and query the knowledge index from a shell.

``ingest`` writes a new index version under ``<data_dir>/index`` exactly as the API does, so a
running service (every replica) picks it up on its next reload poll.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from txassist.cli.parsers import Subcommands
from txassist.config import Settings
from txassist.errors import TxAssistError

if TYPE_CHECKING:
    from txassist.knowledge.schemas import KnowledgeHit
    from txassist.knowledge.service import KnowledgeService


def register(sub: Subcommands) -> None:
    parser: argparse.ArgumentParser = sub.add_parser("kb", help="knowledge base: ingest, search, stats")
    kb_sub = parser.add_subparsers(dest="kb_command", required=True, metavar="ACTION")

    ingest = kb_sub.add_parser("ingest", help="add or replace documents from files and folders (recursive)")
    ingest.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    ingest.add_argument("--no-progress", action="store_true", help="no progress bars")
    ingest.set_defaults(handler=run_ingest)

    search = kb_sub.add_parser("search", help="search the index")
    search.add_argument("query")
    search.add_argument("-k", type=int, default=5)
    search.add_argument("--mode", choices=["hybrid", "dense", "lexical"], default="hybrid")
    search.add_argument("--min-score", type=float, default=None)
    search.add_argument("--json", action="store_true", help="print JSON")
    search.set_defaults(handler=run_search)

    stats = kb_sub.add_parser("stats", help="index version, kind and size")
    stats.set_defaults(handler=run_stats)

    remove = kb_sub.add_parser("delete", help="delete documents by id")
    remove.add_argument("document_ids", nargs="+", metavar="ID")
    remove.set_defaults(handler=run_delete)


def _service(settings: Settings) -> KnowledgeService:
    from txassist.embedding import EmbeddingBatcher, TextEncoder
    from txassist.knowledge.service import KnowledgeService

    encoder = TextEncoder.from_settings(settings)
    service = KnowledgeService(settings, encoder, EmbeddingBatcher(encoder))
    service.reload_if_changed()
    return service


def run_ingest(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from txassist.knowledge.loaders import KnowledgeDocument, iter_files, load_path

    settings = Settings.from_env()
    try:
        files = list(iter_files(args.paths))
    except TxAssistError as exc:
        print(f"txassist: {exc.detail}", file=sys.stderr)
        return 2
    documents: list[KnowledgeDocument] = []
    failed = 0
    for path in tqdm(files, desc="reading", unit="file", disable=args.no_progress):
        try:
            documents.extend(load_path(path))
        except TxAssistError as exc:
            failed += 1
            print(f"skipped {path}: {exc.detail}", file=sys.stderr)
    if not documents:
        print("txassist: no documents to ingest", file=sys.stderr)
        return 1
    service = _service(settings)
    report = service.apply_sync(documents, [], show_progress=not args.no_progress)
    print(
        f"index {report.version} ({report.kind}): {len(report.added)} added, {len(report.replaced)} replaced, "
        f"{len(report.unchanged)} unchanged; {report.chunks_embedded} chunks embedded, "
        f"{report.chunks_reused} reused; {report.live_chunks} chunks live in {settings.index_dir}"
    )
    return 1 if failed else 0


def run_search(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    service = _service(settings)
    try:
        outcome = service.search_sync(args.query, k=args.k, mode=args.mode, min_score=args.min_score)
    except TxAssistError as exc:
        print(f"txassist: {exc.detail}", file=sys.stderr)
        return 2
    if args.json:
        rows = [{k: v for k, v in _as_dict(h).items() if k != "text"} for h in outcome.hits]
        print(json.dumps({"results": rows, "mode": args.mode}, indent=2))
        return 0
    if not outcome.hits:
        print("no results")
    for rank, hit in enumerate(outcome.hits, start=1):
        path = " > ".join(hit.heading_path)
        print(f"{rank}. [{hit.score:.3f}] {hit.title} ({hit.document_id}) {path}")
        print(f"   {hit.snippet}")
        if hit.url:
            print(f"   {hit.url}")
    return 0


def run_stats(_: argparse.Namespace) -> int:
    settings = Settings.from_env()
    service = _service(settings)
    print(json.dumps(service.stats(), indent=2))
    return 0


def run_delete(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    service = _service(settings)
    missing = [d for d in args.document_ids if service.get_document(d) is None]
    for doc_id in missing:
        print(f"not found: {doc_id}", file=sys.stderr)
    present = [d for d in args.document_ids if d not in missing]
    if present:
        report = service.apply_sync([], present)
        print(f"index {report.version}: deleted {', '.join(report.deleted)}")
    return 1 if missing else 0


def _as_dict(hit: KnowledgeHit) -> dict[str, object]:
    import msgspec

    result: dict[str, object] = msgspec.to_builtins(hit)
    return result
