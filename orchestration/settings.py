"""The one place that reads the process environment.

Everything that differs between the embedded default (``CRO_ENV=local``: DuckDB, SQLite Dagster
storage, demo files, offline LLM, dry-run outbound) and production (``CRO_ENV=prod``) is decided
here, once. Secrets are *not* read here: resources receive them through ``dagster.EnvVar`` so that
their values never reach logs or asset metadata. This module only records whether they are set.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from agents.providers import AgentSettings

Environment = Literal["local", "prod"]
# How a run executes its steps (CRO_EXECUTOR). "multiprocess" leaves Dagster's default executor in place
# (each step a subprocess of the run; the launchpad can still pick in_process); "in_process" runs every step
# in the run's own process; "k8s" gives every step its own Kubernetes Job (dagster-k8s, deploy/k8s/).
Executor = Literal["multiprocess", "in_process", "k8s"]
EXECUTORS: tuple[Executor, ...] = ("multiprocess", "in_process", "k8s")

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# Credentials per outside system. Values are never read into Python objects here; only presence.
CREDENTIALS: dict[str, tuple[str, ...]] = {
    "hubspot": ("HUBSPOT_ACCESS_TOKEN",),
    "whatsapp": ("WHATSAPP_ACCESS_TOKEN", "WHATSAPP_PHONE_NUMBER_ID", "WHATSAPP_APP_SECRET", "WHATSAPP_VERIFY_TOKEN"),
    "google_sheets": ("GOOGLE_SERVICE_ACCOUNT_FILE", "GOOGLE_SHEETS_SPREADSHEET_ID"),
    "notion": ("NOTION_TOKEN", "NOTION_DATABASE_ID"),
    "slack": ("SLACK_BOT_TOKEN", "SLACK_CHANNEL"),
    "smtp": ("SMTP_HOST", "SMTP_USERNAME", "SMTP_PASSWORD"),
    "openai": ("OPENAI_API_KEY",),
}


class SettingsError(ValueError):
    """A configuration value is present but unusable; the message says which and how to fix it."""


@dataclass(frozen=True)
class Settings:
    env: Environment
    data_dir: Path
    demo_dir: Path
    whatsapp_landing_dir: Path
    dagster_home: Path
    warehouse_url: str
    llm_provider: Literal["offline", "openai"]
    outbound_live: bool
    # CRO_LLM_* and OPENAI_BASE_URL; never the key (the LLM resource gets OPENAI_API_KEY as an EnvVar)
    llm: AgentSettings = field(default_factory=AgentSettings)
    credentials_present: Mapping[str, bool] = field(default_factory=dict)
    executor: Executor = "multiprocess"

    @property
    def warehouse_kind(self) -> Literal["duckdb", "postgres"]:
        return "postgres" if self.warehouse_url.startswith(("postgresql://", "postgres://")) else "duckdb"

    @property
    def duckdb_path(self) -> Path:
        if self.warehouse_kind != "duckdb":
            raise SettingsError(f"warehouse is {self.warehouse_kind}, not DuckDB")
        return Path(self.warehouse_url.removeprefix("duckdb:///"))

    @property
    def dbt_docs_dir(self) -> Path:
        """Where the dbt docs site is generated (``cro docs`` serves it)."""
        return self.data_dir / "dbt_docs"

    @property
    def llm_cache_path(self) -> Path:
        """The LLM response cache (SQLite): identical agent requests are answered from it, not paid twice."""
        return self.data_dir / "agents" / "llm_cache.sqlite"

    @property
    def reports_dir(self) -> Path:
        """Where assets write the files people read (forecast plots and tables, agent reports)."""
        return self.data_dir / "reports"

    def missing_credentials(self, system: str) -> list[str]:
        return [name for name in CREDENTIALS[system] if not self.credentials_present.get(name)]


def _path(environ: Mapping[str, str], name: str, default: Path) -> Path:
    value = environ.get(name)
    return Path(value).expanduser().resolve() if value else default


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build the settings from ``environ`` (the process environment by default).

    Passing a mapping keeps tests free of global state.
    """
    env_map = os.environ if environ is None else environ
    env = env_map.get("CRO_ENV", "local").strip().lower()
    if env not in ("local", "prod"):
        raise SettingsError(f"CRO_ENV must be 'local' or 'prod', got {env!r}")

    data_dir = _path(env_map, "CRO_DATA_DIR", PROJECT_ROOT / "data")
    demo_dir = _path(env_map, "CRO_DEMO_DIR", data_dir / "demo")
    dagster_home = _path(env_map, "DAGSTER_HOME", PROJECT_ROOT / "dagster_home")
    # Where webhook bodies land: the receiver appends, ingestion reads. Locally, the demo world's files.
    default_landing = data_dir / "landing" / "whatsapp" if env == "prod" else demo_dir / "whatsapp" / "webhooks"
    landing_dir = _path(env_map, "CRO_WHATSAPP_LANDING_DIR", default_landing)

    warehouse_url = env_map.get("CRO_WAREHOUSE_URL", "").strip()
    if not warehouse_url:
        if env == "prod":
            raise SettingsError(
                "CRO_ENV=prod needs CRO_WAREHOUSE_URL (e.g. postgresql://user:pass@host:5432/warehouse)"
            )
        warehouse_url = f"duckdb:///{data_dir / 'warehouse.duckdb'}"
    if not warehouse_url.startswith(("duckdb:///", "postgresql://", "postgres://")):
        raise SettingsError(
            "CRO_WAREHOUSE_URL must start with duckdb:/// (a file path) or postgresql:// "
            f"(got scheme {warehouse_url.split(':', 1)[0]!r})"
        )

    provider = env_map.get("CRO_LLM_PROVIDER", "openai" if env == "prod" else "offline").strip().lower()
    if provider not in ("offline", "openai"):
        raise SettingsError(f"CRO_LLM_PROVIDER must be 'offline' or 'openai', got {provider!r}")
    public_env = {k: v for k, v in env_map.items() if k != "OPENAI_API_KEY"}
    try:
        llm = AgentSettings.from_env(public_env, default_provider=provider, require_credentials=False)
    except ValueError as exc:
        raise SettingsError(str(exc)) from exc

    outbound = env_map.get("CRO_OUTBOUND", "live" if env == "prod" else "dry_run").strip().lower()
    if outbound not in ("dry_run", "live"):
        raise SettingsError(f"CRO_OUTBOUND must be 'dry_run' or 'live', got {outbound!r}")

    executor = (env_map.get("CRO_EXECUTOR") or "multiprocess").strip().lower()
    if executor not in EXECUTORS:
        raise SettingsError(f"CRO_EXECUTOR must be one of {', '.join(EXECUTORS)}; got {executor!r}")
    if executor == "k8s" and not warehouse_url.startswith(("postgresql://", "postgres://")):
        # every step runs in its own pod: they must all reach one warehouse, and a DuckDB file has one writer
        raise SettingsError(
            "CRO_EXECUTOR=k8s runs each step in its own pod, so the warehouse must be a server: "
            "set CRO_WAREHOUSE_URL=postgresql://… (a DuckDB file cannot be shared between pods)"
        )

    present = {name: bool(env_map.get(name)) for names in CREDENTIALS.values() for name in names}
    return Settings(
        env=env,  # type: ignore[arg-type]
        data_dir=data_dir,
        demo_dir=demo_dir,
        whatsapp_landing_dir=landing_dir,
        dagster_home=dagster_home,
        warehouse_url=warehouse_url,
        llm_provider=provider,  # type: ignore[arg-type]
        llm=llm,
        outbound_live=outbound == "live",
        credentials_present=present,
        executor=executor,  # type: ignore[arg-type]
    )


def read_secret(name: str, environ: Mapping[str, str] | None = None) -> str:
    """A secret for code that runs outside Dagster (the webhook receiver); never stored on ``Settings``."""
    value = (os.environ if environ is None else environ).get(name, "")
    if not value:
        raise SettingsError(f"{name} is not set")
    return value


@contextlib.contextmanager
def patched_environ(values: Mapping[str, str]) -> Iterator[None]:
    """Set ``values`` in this process's environment for the ``with`` block, then restore what was there."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
