"""Settings: one object, built once and passed explicitly to the app, the worker and the CLI.

Values come from (highest first): keyword arguments, ``REELFORGE_*`` environment variables, a
TOML file named by ``REELFORGE_CONFIG_FILE`` (or ``--config`` on the CLI), then the defaults
below. Nothing here runs at import time; tests build their own ``Settings``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
    TomlConfigSettingsSource,
)

from reelforge.domain.quotas import KeyLimits

SUPPORTED_DATABASE_SCHEMES = ("sqlite", "postgresql", "postgresql+psycopg")
EncodePreset = Literal[
    "ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower"
]


def default_data_dir() -> Path:
    """``$XDG_DATA_HOME/reelforge``, else ``~/.local/share/reelforge`` (the XDG default)."""
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg) if xdg else Path.home() / ".local" / "share"
    return base / "reelforge"


class Settings(BaseSettings):
    """Everything an operator can configure. Field docs double as the README's reference."""

    model_config = SettingsConfigDict(env_prefix="REELFORGE_", extra="forbid")

    data_dir: Path = Field(
        default_factory=default_data_dir,
        description="Holds the SQLite database and the media files.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL. Unset: SQLite at <data_dir>/reelforge.db. "
        "PostgreSQL: postgresql+psycopg://user@host:5432/dbname",
    )
    media_dir: Path | None = Field(
        default=None, description="Local blob store root. Unset: <data_dir>/media."
    )
    # -- S3-compatible blob store (reelforge.storage.s3): unset blob_url keeps media local.
    # Unset S3 settings fall back to boto3's own: AWS_* variables, ~/.aws files, instance roles.
    blob_url: str | None = Field(
        default=None,
        description="Where media lives: s3://bucket/prefix for an S3-compatible store (AWS S3, "
        "MinIO, Ceph RGW, R2). Unset: the local directory media_dir.",
    )
    s3_endpoint_url: str | None = Field(
        default=None,
        description="S3 endpoint, e.g. http://minio:9000. Unset: AWS_ENDPOINT_URL, else AWS.",
    )
    s3_region: str | None = Field(
        default=None, description="S3 region. Unset: AWS_DEFAULT_REGION or the AWS profile's."
    )
    s3_access_key_id: str | None = Field(
        default=None, description="S3 access key. Unset: boto3's credential chain."
    )
    s3_secret_access_key: SecretStr | None = Field(
        default=None, description="S3 secret key (set together with s3_access_key_id)."
    )
    s3_addressing_style: Literal["auto", "path", "virtual"] = Field(
        default="auto",
        description="Bucket in the host name (virtual) or the path (path: MinIO and most "
        "self-hosted stores without wildcard DNS).",
    )
    blob_downloads: Literal["stream", "redirect"] = Field(
        default="stream",
        description="How the API serves stored files. stream: through the API (Range "
        "requests answered with ranged reads). redirect: 307 to a short-lived presigned URL, "
        "so the bytes flow from the store to the client (S3 only); the seed surface's signed "
        "links redirect the same way.",
    )
    s3_presign_seconds: int = Field(
        default=300,
        ge=10,
        le=7 * 24 * 3600,
        description="Lifetime of the presigned URLs redirects point to (S3 allows 7 days).",
    )
    s3_presign_endpoint_url: str | None = Field(
        default=None,
        description="Endpoint that clients reach the store at, for presigned URLs, when it "
        "differs from s3_endpoint_url (e.g. a public MinIO host). Unset: the same endpoint.",
    )
    engine: str = Field(default="testcard", description="Generation engine name.")
    engine_options: dict[str, Any] = Field(
        default_factory=dict, description="Engine-specific options (see the engine's docs)."
    )
    worker_concurrency: int = Field(default=1, ge=1, le=64, description="Jobs run at once.")
    embedded_workers: bool = Field(
        default=True, description="`reelforge serve` also runs workers (see the mode below)."
    )
    embedded_workers_mode: Literal["process", "thread"] = Field(
        default="process",
        description="Where `serve` runs its workers. `process`: in one child process that "
        "`serve` supervises (restarted with backoff if it dies, stopped with the server), so "
        "rendering never slows the HTTP answers and GPU libraries load only there. `thread`: "
        "in the server's own process (tests, tiny deployments).",
    )
    worker_nice: int = Field(
        default=10,
        ge=0,
        le=19,
        description="CPU priority the worker child process lowers itself by (`nice`), so "
        "renders cannot starve the HTTP server on a small machine. 0 keeps the same priority.",
    )
    lease_seconds: float = Field(
        default=60.0, gt=0, description="A running job's lease; renewed by heartbeats."
    )
    heartbeat_seconds: float = Field(
        default=5.0, gt=0, description="How often a worker renews leases and reads cancel flags."
    )
    progress_seconds: float = Field(
        default=1.0,
        gt=0,
        description="How often a worker records a running job's progress (when it changed).",
    )
    poll_seconds: float = Field(
        default=2.0, gt=0, description="Idle workers look for work at least this often."
    )
    sweep_seconds: float = Field(
        default=10.0, gt=0, description="How often expired leases are returned to the queue."
    )
    max_attempts: int = Field(
        default=3, ge=1, description="A job is failed after this many lost or crashed attempts."
    )
    shutdown_grace_seconds: float = Field(
        default=30.0,
        ge=0,
        description="On SIGTERM, running jobs get this long to finish before they are released.",
    )
    worker_id: str | None = Field(default=None, description="Name in lease rows; default host:pid.")
    worker_metrics_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="Serve the worker process's own Prometheus metrics (the engine's, e.g. "
        "per-upstream requests, latency, in-flight and health) on this port, on every address. "
        "Unset: not served. The API's /metrics reads the queue from the database instead.",
    )
    worker_stale_seconds: float = Field(
        default=30.0,
        gt=0,
        description="A worker whose last heartbeat in the worker registry is older than this "
        "counts as gone: /readyz is not ready while jobs are queued and no worker that can run "
        "them was seen within this time. Keep it several heartbeats long.",
    )
    log_format: Literal["auto", "rich", "plain", "json"] = Field(
        default="auto",
        description="Log lines: `json` (one object per line: time, level, logger, message, "
        "request_id and job_id when known), `plain` (timestamped text), `rich` (Rich console), "
        "`auto` (rich on a terminal, plain elsewhere).",
    )
    otel: bool = Field(
        default=False,
        description="Trace HTTP requests with OpenTelemetry (needs the `otel` extra); also on "
        "when OTEL_EXPORTER_OTLP_ENDPOINT is set. The exporter reads the standard OTEL_* "
        "variables.",
    )
    encode_preset: EncodePreset = Field(
        default="veryfast",
        description="x264 preset for delivered videos: faster presets use less CPU per video "
        "and make larger files at the same quality (CRF 20).",
    )
    # -- HTTP API (appended by the API work; see reelforge.api) --------------------------------
    retention_seconds: int = Field(
        default=7 * 24 * 3600,
        ge=60,
        description="A job's media is kept this long after creation (OpenAI `expires_at`), then "
        "the retention sweeper deletes it.",
    )
    retention_sweep_seconds: float = Field(
        default=60.0, gt=0, description="How often the API process deletes expired media."
    )
    idempotency_ttl_seconds: int = Field(
        default=24 * 3600,
        ge=24 * 3600,
        description="How long an Idempotency-Key's first response is kept and replayed.",
    )
    poll_after_ms: int = Field(
        default=1000,
        ge=50,
        le=60_000,
        description="Sent as `openai-poll-after-ms`: how long SDK pollers wait between polls.",
    )
    public_base_url: str | None = Field(
        default=None,
        description="Base URL clients reach this server at (for download links in the seed "
        "surface's `videos`). Unset: taken from each request's Host header.",
    )
    signed_url_ttl_seconds: int = Field(
        default=3600,
        ge=10,
        description="Lifetime of the signed video URLs the seed surface returns.",
    )
    url_signing_secret: str | None = Field(
        default=None,
        description="HMAC secret for signed video URLs. Unset: a random secret is created once "
        "in <data_dir>/url-signing.key (mode 0600). Set it when several API replicas serve links.",
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Browser origins (scheme://host[:port]) that may call the API from their "
        "pages (CORS), e.g. https://studio.example.com; the environment variable takes them "
        'comma-separated. "*" allows any origin. Empty (the default): no cross-origin access.',
    )

    # -- content policy ------------------------------------------------------------------------
    policy_extra_lexicon_dir: Path | None = Field(
        default=None,
        description="Directory of extra lexicon files (same names as the shipped ones) that add "
        "entries; an allowlist.txt there cancels false positives.",
    )
    policy_semantic: Literal["auto", "on", "off"] = Field(
        default="auto",
        description="The content policy's semantic layer (a sentence-embedding model that "
        "catches paraphrase, for prompts the lexicons allow): auto = on when the policy-ml "
        "extra is installed; on = required (start fails without it); off = lexicons only. "
        "On, the API process loads torch on CPU and the model (~450 MiB, a few seconds at "
        "start) and each create costs ~10 ms more.",
    )
    policy_disabled_categories: list[str] = Field(
        default_factory=list,
        description='Policy categories to switch off, e.g. ["copyright/music"].',
    )

    # -- per-key limits: server-wide defaults for keys that set none (`reelforge keys update`
    # sets a key's own; "unlimited" there lifts a default for one key). None: no limit.
    default_rpm: int | None = Field(
        default=None, ge=1, description="Creates per minute per key (token bucket, burst = rpm)."
    )
    default_max_queued: int | None = Field(
        default=None, ge=0, description="Jobs a key may have queued at once."
    )
    default_max_running: int | None = Field(
        default=None,
        ge=1,
        description="Jobs of one key running at once; more wait in the queue (never refused).",
    )
    default_daily_video_seconds: int | None = Field(
        default=None,
        ge=0,
        description="Video seconds a key may commit (queued + running + completed) per UTC day.",
    )
    default_monthly_video_seconds: int | None = Field(
        default=None, ge=0, description="Video seconds a key may commit per UTC calendar month."
    )
    default_daily_gpu_seconds: float | None = Field(
        default=None,
        ge=0,
        description="Engine compute seconds (GPU-seconds on a GPU) a key may spend per UTC day: "
        "spent plus the estimate for its queued and running jobs.",
    )
    default_monthly_gpu_seconds: float | None = Field(
        default=None, ge=0, description="Engine compute seconds a key may spend per UTC month."
    )

    # -- event streams -------------------------------------------------------------------------
    event_stream_poll_seconds: float = Field(
        default=0.5,
        gt=0,
        le=5,
        description="How often each API process reads the jobs its event streams watch (one "
        "query for all streams). Job events also wake it at once: in-process, and from other "
        "processes through PostgreSQL NOTIFY; this is the safety net and the pace of progress.",
    )

    # -- API thread pool: blocking work (database, image checks, files) runs here, off the
    # event loop, so status reads answer while a create decodes and face-checks an image.
    api_threads: int = Field(
        default=40,
        ge=4,
        le=1024,
        description="Threads the API process runs blocking request work in (database reads "
        "and writes, image decoding and face checks, file I/O, error logging); 40 is anyio's "
        "default. Each thread may hold a database connection while it works.",
    )

    # -- webhooks ------------------------------------------------------------------------------
    webhook_dispatch: bool = Field(
        default=True,
        description="This process (`serve` or `worker`) sends webhook deliveries. Any number of "
        "processes may; each delivery is sent by one of them at a time.",
    )
    webhook_dispatchers: int = Field(
        default=2, ge=1, le=64, description="Webhook deliveries this process sends at once."
    )
    webhook_timeout_seconds: float = Field(
        default=15.0,
        ge=1,
        le=30,
        description="A receiver must answer a delivery within this time (connect included), "
        "else the attempt fails and is retried. Failed deliveries are retried on the Standard "
        "Webhooks schedule (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h after the "
        "event, with jitter; `Retry-After` honoured), then marked failed (replayable).",
    )
    webhook_allow_private: list[str] = Field(
        default_factory=list,
        description="Networks webhooks may be sent to although they are private, loopback or "
        'link-local, for on-premise receivers, e.g. ["10.0.0.0/8", "127.0.0.1/32"]. Empty: '
        "only public addresses.",
    )

    @property
    def default_limits(self) -> KeyLimits:
        """The per-key limits a key gets where it sets none of its own."""
        return KeyLimits(
            rpm=self.default_rpm,
            max_queued=self.default_max_queued,
            max_running=self.default_max_running,
            daily_video_seconds=self.default_daily_video_seconds,
            monthly_video_seconds=self.default_monthly_video_seconds,
            daily_gpu_seconds=self.default_daily_gpu_seconds,
            monthly_gpu_seconds=self.default_monthly_gpu_seconds,
        )

    @field_validator("webhook_allow_private")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        from reelforge.net.netcheck import check_networks

        return check_networks(value)

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _origins(cls, value: Any) -> Any:
        from reelforge.net.origins import parse_origins

        return parse_origins(value)

    @field_validator("engine")
    @classmethod
    def _engine_lowercase(cls, value: str) -> str:
        return value.strip().lower()

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: str | None) -> str | None:
        if value is None:
            return None
        scheme = value.split(":", 1)[0].lower() if ":" in value else ""
        if scheme not in SUPPORTED_DATABASE_SCHEMES:
            raise ValueError(
                f"scheme {scheme or '(none)'!r} is not supported; use sqlite:///path/to/file.db "
                "or postgresql://user@host:5432/dbname"
            )
        return value

    @field_validator("blob_url")
    @classmethod
    def _blob_url(cls, value: str | None) -> str | None:
        from reelforge.storage.location import parse_blob_url

        if value is None or not value.strip():
            return None
        return parse_blob_url(value).url

    @model_validator(mode="after")
    def _redirect_needs_s3(self) -> Settings:
        if self.blob_downloads == "redirect" and self.blob_url is None:
            raise ValueError(
                'blob_downloads = "redirect" needs an S3 store (REELFORGE_BLOB_URL=s3://...): '
                'local media has no URL to redirect to; use "stream"'
            )
        if (self.s3_access_key_id is None) != (self.s3_secret_access_key is None):
            raise ValueError(
                "set s3_access_key_id and s3_secret_access_key together (or neither, to use "
                "the AWS credential chain)"
            )
        return self

    @model_validator(mode="after")
    def _heartbeat_within_lease(self) -> Settings:
        # A lease that expires before its first renewal is swept from under a healthy worker.
        if self.heartbeat_seconds >= self.lease_seconds:
            raise ValueError(
                f"heartbeat_seconds ({self.heartbeat_seconds:g}) must be less than lease_seconds "
                f"({self.lease_seconds:g}), or leases expire between heartbeats; keep heartbeats "
                "at most a third of the lease"
            )
        if self.heartbeat_seconds >= self.worker_stale_seconds:
            raise ValueError(
                f"heartbeat_seconds ({self.heartbeat_seconds:g}) must be less than "
                f"worker_stale_seconds ({self.worker_stale_seconds:g}), or live workers look gone"
            )
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # A TOML file (model_config["toml_file"], set by load_settings) ranks below env vars.
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'reelforge.db'}"

    @property
    def resolved_media_dir(self) -> Path:
        return self.media_dir if self.media_dir is not None else self.data_dir / "media"


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build settings; ``config_file`` (or ``$REELFORGE_CONFIG_FILE``) names a TOML file."""
    from reelforge.domain.errors import ConfigError

    if config_file is None and os.environ.get("REELFORGE_CONFIG_FILE"):
        config_file = Path(os.environ["REELFORGE_CONFIG_FILE"])
    settings_cls: type[Settings] = Settings
    if config_file is not None:
        if not config_file.is_file():
            raise ConfigError(
                f"config file {config_file} does not exist; pass an existing TOML file"
            )
        config = SettingsConfigDict(**{**Settings.model_config, "toml_file": config_file})
        settings_cls = type("FileSettings", (Settings,), {"model_config": config})
    try:
        return settings_cls(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        message = str(first["msg"]).removeprefix("Value error, ")
        if not first["loc"]:  # a rule across several settings
            raise ConfigError(f"invalid settings: {message}") from None
        where = ".".join(str(part) for part in first["loc"])
        variable = f"REELFORGE_{str(first['loc'][0]).upper()}"
        raise ConfigError(f"invalid setting {where} ({variable}): {message}") from None
    except SettingsError as exc:
        raise ConfigError(f"invalid setting: {exc}; check its REELFORGE_* variable") from None
