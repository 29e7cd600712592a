"""Where each embedding backend's weights live, and making them once.

``torch`` loads the shipped model directory as it is. ``onnx`` and ``onnx-int8`` need an exported
graph: the model directory is copied under ``<data_dir>/models/`` and exported there (optimum, fully
offline) and optimised with ONNX Runtime's transformer fusions (optimum level O3: fused attention,
LayerNorm and GELU; 19% off a single text on 2 cores), and ``onnx-int8`` adds a dynamically quantised
copy of the plain graph for the CPU's instruction set. The work happens once: replicas sharing a data
dir take a file lock, and later starts find the files.

``auto`` picks the fastest of these that is installed and pays on this CPU: int8 where the CPU has
int8 dot-product instructions (AVX-512 VNNI, ARM64: 2x the batch throughput of fp32 ONNX in
``embedding_backends.json``, within a point on both quality checks), fp32 ONNX elsewhere (int8 was
slower than fp32 on an AVX2-only CPU), torch where ONNX Runtime is missing (an install without it).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from filelock import FileLock

from txassist.config import BackendSetting
from txassist.jsontypes import JsonObject

Backend = Literal["torch", "onnx", "onnx-int8"]
BACKENDS: tuple[Backend, ...] = ("torch", "onnx", "onnx-int8")
BACKEND_SETTINGS: tuple[BackendSetting, ...] = ("auto", *BACKENDS)
INT8_PAYS = frozenset({"avx512_vnni", "arm64"})  # int8 dot-product instructions
OPTIMISATION = "O3"  # optimum's level: O2 fusions plus approximate GELU, still exact to ~1e-4 here


@dataclass(frozen=True)
class ModelFiles:
    """What ``SentenceTransformer(path, backend=..., model_kwargs=...)`` needs for one backend."""

    path: str
    st_backend: Literal["torch", "onnx"]
    file_name: str | None = None  # the ONNX graph inside ``path``; None for torch


def quantization_target() -> Literal["arm64", "avx2", "avx512", "avx512_vnni"]:
    """The int8 kernel family this CPU runs (dynamic quantisation is specialised per ISA)."""
    if os.uname().machine in {"aarch64", "arm64"}:
        return "arm64"
    try:
        flags = Path("/proc/cpuinfo").read_text(encoding="utf-8")
    except OSError:
        return "avx2"
    if "avx512_vnni" in flags:
        return "avx512_vnni"
    if "avx512f" in flags:
        return "avx512"
    return "avx2"


def resolve_backend(setting: BackendSetting) -> Backend:
    """The backend ``setting`` names; for ``auto``, the fastest one installed for this CPU."""
    if setting != "auto":
        return setting
    if importlib.util.find_spec("onnxruntime") is None or importlib.util.find_spec("optimum") is None:
        return "torch"
    return "onnx-int8" if quantization_target() in INT8_PAYS else "onnx"


def int8_file(target: Path) -> Path | None:
    """The quantised graph in an export dir (``model_qint8_*`` or ``model_quint8_*``: the ISA decides)."""
    found = sorted((target / "onnx").glob(f"model_*int8_{quantization_target()}.onnx"))
    return found[0] if found else None


def export_dir(model_path: str, models_dir: Path) -> Path:
    """A directory per source model (its path's hash), so a model change never reuses a stale export."""
    source = Path(model_path).resolve()
    digest = hashlib.sha256(str(source).encode()).hexdigest()[:10]
    return models_dir / f"{source.name}-{digest}"


def prepare(model_path: str, backend: Backend, models_dir: Path) -> ModelFiles:
    """The files for ``backend``, exporting and quantising into ``models_dir`` on first use."""
    if backend == "torch":
        return ModelFiles(model_path, "torch")
    target = export_dir(model_path, models_dir)
    graph = target / "onnx" / "model.onnx"
    optimised = target / "onnx" / f"model_{OPTIMISATION}.onnx"
    ready = int8_file(target) is not None if backend == "onnx-int8" else optimised.is_file()
    if not ready:
        models_dir.mkdir(parents=True, exist_ok=True)
        with FileLock(models_dir / ".export.lock"):
            if not graph.is_file():
                _export(model_path, target)
            if backend == "onnx" and not optimised.is_file():
                _optimise(target)
            if backend == "onnx-int8" and int8_file(target) is None:
                _quantise(target)
    chosen = int8_file(target) if backend == "onnx-int8" else optimised
    assert chosen is not None
    return ModelFiles(str(target), "onnx", str(chosen.relative_to(target)))


def _export(model_path: str, target: Path) -> None:
    from sentence_transformers import SentenceTransformer

    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(model_path, staging, ignore=shutil.ignore_patterns("*.safetensors.index.json"))
    # No model.onnx in the copy: sentence-transformers exports with optimum, then we keep the graph.
    model = SentenceTransformer(str(staging), backend="onnx", local_files_only=True)
    model.save_pretrained(str(staging))
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)  # readers never see a half-written export


def _optimise(target: Path) -> None:
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.backend import export_optimized_onnx_model

    model = SentenceTransformer(
        str(target), backend="onnx", local_files_only=True, model_kwargs={"file_name": "onnx/model.onnx"}
    )
    export_optimized_onnx_model(model, OPTIMISATION, str(target))


def _quantise(target: Path) -> None:
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.backend import export_dynamic_quantized_onnx_model

    model = SentenceTransformer(
        str(target), backend="onnx", local_files_only=True, model_kwargs={"file_name": "onnx/model.onnx"}
    )
    export_dynamic_quantized_onnx_model(model, quantization_target(), str(target))


def onnx_model_kwargs(files: ModelFiles, *, device: str, threads: int) -> JsonObject:
    """ONNX Runtime session settings: the graph file, the provider, and intra-op threads = cores."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Spinning workers burn the cores other requests (and replicas) need between short inferences.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    provider = "CUDAExecutionProvider" if device == "cuda" else "CPUExecutionProvider"
    return {"file_name": files.file_name, "provider": provider, "session_options": options}
