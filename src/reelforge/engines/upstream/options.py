"""The upstream engine's options, parsed from ``Settings.engine_options``.

Example (TOML config file)::

    engine = "upstream"
    [engine_options]
    allow_private = ["10.0.0.0/8"]          # upstreams usually live on a private network

    [[engine_options.upstreams]]
    name = "wan-a"
    base_url = "http://10.0.0.5:8000"       # an OpenAI-compatible /v1/videos server
    api_key_env = "WAN_A_KEY"               # or api_key = "..."
    models = { "sora-2" = "Wan-AI/Wan2.2-TI2V-5B-Diffusers" }
    max_in_flight = 2

    [[engine_options.upstreams]]
    name = "gateway"
    kind = "seed"                           # a gateway speaking the seed task API
    base_url = "https://gateway.example.com"
    api_key_env = "GATEWAY_KEY"
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from reelforge.domain.errors import ConfigError
from reelforge.domain.limits import MODEL_NAMES
from reelforge.net.netcheck import check_networks

UpstreamKind = Literal["openai", "seed"]


class UpstreamConfig(BaseModel):
    """One server jobs may be forwarded to."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    kind: UpstreamKind = Field(
        default="openai",
        description="openai: the /v1/videos API (vLLM-Omni, SGLang, another ReelForge). "
        "seed: the seed gateway's task API (/vendors/openai/v1/sora/generation).",
    )
    base_url: str = Field(description="Scheme, host and port (and a path prefix if any).")
    api_key: SecretStr | None = None
    api_key_env: str | None = Field(
        default=None, description="Read the key from this environment variable instead."
    )
    models: dict[str, str] = Field(
        default_factory=dict,
        description="Our model name -> the upstream's model id. Unmapped names are sent as is.",
    )
    max_in_flight: int = Field(default=1, ge=1, le=1024)
    timeout_seconds: float = Field(
        default=30.0, gt=0, le=600, description="One HTTP request (a download excepted)."
    )

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{value!r} is not an http(s) URL like http://10.0.0.5:8000")
        if parts.username or parts.password:
            raise ValueError("put credentials in api_key or api_key_env, not in base_url")
        if parts.query or parts.fragment:
            raise ValueError(f"{value!r} has a query or fragment; give scheme://host:port[/path]")
        return value.strip().rstrip("/")

    @field_validator("models")
    @classmethod
    def _known_models(cls, value: dict[str, str]) -> dict[str, str]:
        for ours, theirs in value.items():
            if ours not in MODEL_NAMES:
                raise ValueError(
                    f"{ours!r} is not a model clients can ask for; map one of "
                    f"{', '.join(MODEL_NAMES)}"
                )
            if not theirs.strip():
                raise ValueError(f"models.{ours} is empty; give the upstream's model id")
        return value

    @model_validator(mode="after")
    def _one_key_source(self) -> UpstreamConfig:
        if self.api_key is not None and self.api_key_env is not None:
            raise ValueError("set api_key or api_key_env, not both")
        return self

    def secret(self) -> str | None:
        """The API key (read from the environment when ``api_key_env`` names it)."""
        if self.api_key_env is not None:
            value = os.environ.get(self.api_key_env)
            if not value:
                raise ConfigError(
                    f"upstream {self.name!r}: environment variable {self.api_key_env} is not "
                    "set; export it or set api_key"
                )
            return value
        return self.api_key.get_secret_value() if self.api_key is not None else None

    def model_id(self, model: str) -> str:
        return self.models.get(model, model)


class UpstreamOptions(BaseModel):
    """Every knob of the upstream engine; unknown keys are rejected so typos surface."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    upstreams: list[UpstreamConfig] = Field(min_length=1)
    allow_private: list[str] = Field(
        default_factory=list,
        description="Networks upstreams may live in although they are private, loopback or "
        'link-local, e.g. ["10.0.0.0/8", "127.0.0.1/32"]. Empty: public addresses only.',
    )
    poll_max_seconds: float = Field(
        default=10.0, gt=0, le=300, description="Longest wait between two polls of a job."
    )
    give_up_seconds: float = Field(
        default=600.0,
        gt=0,
        description="Fail the job when no upstream could be reached for this long in a row.",
    )
    job_timeout_seconds: float = Field(
        default=3600.0, gt=0, description="Fail a job the upstream has not finished by then."
    )
    unhealthy_after: int = Field(
        default=3, ge=1, description="Consecutive failures that take an upstream out of use."
    )
    max_download_bytes: int = Field(default=2 << 30, ge=1 << 20)

    @field_validator("allow_private")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        return check_networks(value)

    @model_validator(mode="after")
    def _unique_names(self) -> UpstreamOptions:
        names = [upstream.name for upstream in self.upstreams]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"upstream names must differ; {', '.join(duplicates)} repeats")
        return self


def parse_options(raw: Mapping[str, Any]) -> UpstreamOptions:
    """Validate ``engine_options``; any problem becomes one ``ConfigError`` line."""
    if not raw.get("upstreams"):
        raise ConfigError(
            "the upstream engine needs at least one server: set engine_options.upstreams = "
            '[{ name = "a", base_url = "http://host:8000" }]'
        )
    try:
        return UpstreamOptions.model_validate(dict(raw))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        message = str(first["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"invalid upstream option engine_options.{where}: {message}") from None
