"""The packaged model behind llama.cpp's own OpenAI-compatible HTTP server (xllamacpp), as a process.

For running the model apart from the service (another host, another core budget) and pointing the
``openai`` backend at it:

    python -m txassist.drafting.backends.llama_server --port 8080 [--model PATH] [--api-key KEY]
    TXASSIST_LLM_BACKEND=openai TXASSIST_OPENAI_BASE_URL=http://127.0.0.1:8080/v1

It prints ``listening <url>`` once the model is loaded and serves until SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import signal
import threading
from pathlib import Path
from typing import Any

from txassist.config import REPO_ROOT, Settings
from txassist.drafting.backends.local import resolve_model_path


def build_params(args: argparse.Namespace, model: Path) -> Any:
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = str(model)
    params.hostnames = [args.host]
    params.port = args.port
    params.n_ctx = args.ctx
    params.n_parallel = args.slots
    params.cache_prompt = True
    params.cpuparams.n_threads = args.threads
    params.cpuparams_batch.n_threads = args.batch_threads
    params.warmup = False
    if args.api_key:
        params.api_keys = [args.api_key]
    return params


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="", help="a GGUF file; default: the packaged model")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--ctx", type=int, default=8192, help="KV cache tokens, split between the slots")
    parser.add_argument("--slots", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch-threads", type=int, default=2)
    parser.add_argument("--api-key", default="")
    args = parser.parse_args(argv)
    import xllamacpp

    settings = Settings.from_env()
    model = resolve_model_path(args.model or settings.local_model_path, settings.data_dir, REPO_ROOT / "models")
    server = xllamacpp.Server(build_params(args, model))
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    print(f"listening {server.listening_address}", flush=True)
    stop.wait()
    del server


if __name__ == "__main__":
    main()
