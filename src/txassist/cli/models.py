"""``txassist models export``: make the ONNX (and int8) embedding graphs before the replicas start.

The service does the same at first start when ``TXASSIST_EMBEDDING_BACKEND`` is ``onnx``,
``onnx-int8`` or ``auto``; running it as a deploy step keeps that minute of export out of a replica's start.
"""

from __future__ import annotations

import argparse
import json

from txassist.cli.parsers import Subcommands
from txassist.config import Settings
from txassist.embedding.backends import BACKENDS, Backend, resolve_backend


def register(sub: Subcommands) -> None:
    parser: argparse.ArgumentParser = sub.add_parser("models", help="prepare embedding model files")
    actions = parser.add_subparsers(dest="models_command", required=True, metavar="ACTION")
    export = actions.add_parser("export", help="export/quantise the embedding model into data_dir/models")
    export.add_argument(
        "--backend",
        choices=BACKENDS,
        action="append",
        default=None,
        help="backend to prepare (repeatable); default: the configured one",
    )
    export.set_defaults(handler=run_export)


def run_export(args: argparse.Namespace) -> int:
    from txassist.embedding import TextEncoder

    settings = Settings.from_env()
    wanted: list[Backend] = list(args.backend or [resolve_backend(settings.embedding_backend)])
    prepared = []
    for backend in wanted:
        encoder = TextEncoder(
            settings.embedding_model,
            device=settings.device,
            backend=backend,
            threads=settings.torch_threads,
            models_dir=settings.models_dir,
        )
        encoder.warm_up()
        files = encoder.files
        assert files is not None
        prepared.append({"backend": backend, "path": files.path, "file": files.file_name, "device": encoder.device})
    print(json.dumps(prepared))
    return 0
