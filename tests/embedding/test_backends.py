"""ONNX backends with the real model: exported once into the data dir, vectors match torch."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from txassist.cli import main
from txassist.config import Settings
from txassist.embedding import TextEncoder, backends
from txassist.embedding import encoder as encoder_module
from txassist.embedding.backends import export_dir, int8_file, prepare, resolve_backend

TEXTS = [
    "I was charged twice for my card payment yesterday.",
    "How do I reset my router to factory settings?",
    "Thanks, that fixed it!",
]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models-data")


@pytest.fixture(autouse=True)
def no_loaded_models(monkeypatch: pytest.MonkeyPatch) -> None:
    # The process keeps one loaded model per backend: apps built earlier in the suite loaded theirs
    # from the shared model cache, and these tests are about where a fresh start puts its files.
    monkeypatch.setattr(encoder_module, "_LOADED", {})


def test_models_export_cli_writes_int8_once(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TXASSIST_DATA_DIR", str(data_dir))
    monkeypatch.delenv(
        "TXASSIST_MODEL_CACHE_DIR", raising=False
    )  # the suite's shared cache: this test is about the default
    assert main(["models", "export", "--backend", "onnx-int8"]) == 0
    prepared = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    target = Path(prepared[0]["path"])
    assert target.parent == data_dir / "models"
    graph = int8_file(target)
    assert graph is not None and (target / "onnx" / "model.onnx").is_file()
    stamp = graph.stat().st_mtime_ns
    # A second start finds the files: nothing is exported or quantised again.
    files = prepare(TextEncoder().model_path, "onnx-int8", data_dir / "models")
    assert files.file_name == str(graph.relative_to(target))
    assert graph.stat().st_mtime_ns == stamp


@pytest.mark.parametrize("backend", ["onnx", "onnx-int8"])
def test_onnx_vectors_match_torch(data_dir: Path, backend: str) -> None:
    settings = Settings.from_env({}, data_dir=data_dir, embedding_backend=backend)
    onnx = TextEncoder.from_settings(settings)
    torch = TextEncoder()
    got, want = onnx.encode(TEXTS), torch.encode(TEXTS)
    assert got.shape == want.shape == (3, 384)
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-4)
    cosine = np.sum(got * want, axis=1)
    # fp32 ONNX is the same function; int8 loses a little but keeps the direction.
    assert cosine.min() > (0.999 if backend == "onnx" else 0.95)
    assert onnx.files is not None and Path(onnx.files.path) == export_dir(torch.model_path, data_dir / "models")
    if backend == "onnx":  # the graph served is the one optimised with ONNX Runtime's transformer fusions
        assert onnx.files.file_name == "onnx/model_O3.onnx"


def test_cuda_request_without_gpu_falls_back_to_cpu() -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present: the fallback path is not taken")
    encoder = TextEncoder(device="cuda", threads=1)
    assert encoder.encode(TEXTS[:1]).shape == (1, 384)
    assert encoder.device == "cpu"
    assert os.environ.get("HF_HUB_OFFLINE") == "1"


@pytest.mark.parametrize(
    ("isa", "want"), [("avx512_vnni", "onnx-int8"), ("arm64", "onnx-int8"), ("avx512", "onnx"), ("avx2", "onnx")]
)
def test_auto_picks_int8_only_where_the_cpu_has_int8_dot_products(
    monkeypatch: pytest.MonkeyPatch, isa: str, want: str
) -> None:
    monkeypatch.setattr(backends, "quantization_target", lambda: isa)
    assert resolve_backend("auto") == want
    assert TextEncoder(backend="auto").backend == want
    assert resolve_backend("torch") == "torch"  # an explicit choice is never second-guessed


def test_the_default_configuration_serves_onnx(tmp_path: Path) -> None:
    # What `make run` gives a new user: ONNX Runtime is installed with the package, so `auto` never
    # falls back to the slower torch path on a plain install.
    settings = Settings.from_env({}, data_dir=tmp_path)
    assert settings.embedding_backend == "auto"
    assert TextEncoder.from_settings(settings).backend in {"onnx", "onnx-int8"}
    assert settings.models_dir == tmp_path / "models"
    shared = Settings.from_env({"TXASSIST_MODEL_CACHE_DIR": str(tmp_path / "cache")}, data_dir=tmp_path)
    assert shared.models_dir == tmp_path / "cache"


def test_auto_without_onnx_runtime_is_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "optimum" else real(name, *a))
    assert resolve_backend("auto") == "torch"


@pytest.mark.parametrize(("cores", "serving", "batch"), [(1, 1, 1), (2, 1, 2), (8, 7, 8)])
def test_the_service_leaves_the_event_loop_a_core(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, cores: int, serving: int, batch: int
) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: set(range(cores)))
    settings = Settings.from_env({}, data_dir=tmp_path)
    assert TextEncoder.from_settings(settings, serving=True).threads == serving
    assert TextEncoder.from_settings(settings).threads == batch
    # An explicit setting wins over both defaults.
    pinned = Settings.from_env({"TXASSIST_TORCH_THREADS": "3"}, data_dir=tmp_path)
    assert TextEncoder.from_settings(pinned, serving=True).threads == 3
