"""Dagster resources and their per-environment configuration.

``build_resources`` is the single switch between the embedded default and production; assets only
ever see the resource interfaces defined here.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import dagster as dg

from agents.providers import DEFAULT_MODEL, DEFAULT_PRICE_PER_1K_INPUT, DEFAULT_PRICE_PER_1K_OUTPUT, AgentSettings
from integrations.hubspot import DemoHubSpotSource, HubSpotClient, HubSpotSource
from integrations.sheets.sources import CsvSheetsSource, GoogleSheetsSource, SheetsSource
from integrations.whatsapp import LandingArea
from orchestration.settings import Settings
from orchestration.warehouse import Warehouse


def mask_url(url: str) -> str:
    """Hide the password of a database URL so it can be shown to a person or a log."""
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", url)


class WarehouseResource(dg.ConfigurableResource):
    """The analytical warehouse: a DuckDB file by default, PostgreSQL in production.

    ``url`` is ``duckdb:///<path>`` or ``postgresql://user:password@host:port/db``.
    """

    url: str

    def get(self) -> Warehouse:
        return Warehouse(self.url)

    def ping(self) -> str:
        """Run a trivial query; returns the server version. Raises if unreachable."""
        return str(self.get().query("select version()")[0][0])


class SheetsResource(dg.ConfigurableResource):
    """Google Sheets in production; the demo world's worksheet files on the embedded default."""

    csv_dir: str | None = None
    spreadsheet_id: str | None = None
    service_account_file: str | None = None

    def source(self) -> SheetsSource:
        if self.csv_dir:
            return CsvSheetsSource(Path(self.csv_dir))
        if not (self.spreadsheet_id and self.service_account_file):
            raise dg.Failure(
                "Google Sheets is not configured: set GOOGLE_SHEETS_SPREADSHEET_ID and GOOGLE_SERVICE_ACCOUNT_FILE"
            )
        return GoogleSheetsSource(self.spreadsheet_id, self.service_account_file)


class HubSpotResource(dg.ConfigurableResource):
    """HubSpot CRM through the official SDK in production; the demo world's page files locally."""

    access_token: str | None = None
    host: str | None = None
    demo_dir: str | None = None
    # which CRM properties to pull; None = integrations.hubspot.properties defaults. Extra ones land as text columns.
    contact_properties: list[str] | None = None
    deal_properties: list[str] | None = None

    def properties(self, object_type: str) -> list[str] | None:
        return self.contact_properties if object_type == "contacts" else self.deal_properties

    def source(self) -> HubSpotSource:
        if self.demo_dir:
            return DemoHubSpotSource(Path(self.demo_dir))
        if not self.access_token:
            raise dg.Failure("HubSpot is not configured: set HUBSPOT_ACCESS_TOKEN (a private-app token)")
        return HubSpotClient(access_token=self.access_token, host=self.host)


class WhatsAppResource(dg.ConfigurableResource):
    """The folder where webhook bodies land (written by ``cro webhook serve``, or the demo world)."""

    landing_dir: str

    def landing(self) -> LandingArea:
        return LandingArea(Path(self.landing_dir))


class DbtDocsResource(dg.ConfigurableResource):
    """Where the generated dbt docs site goes."""

    output_dir: str


class ReportsResource(dg.ConfigurableResource):
    """Where assets write the files people read: plots, markdown reports (``data/reports`` locally)."""

    output_dir: str

    def path(self, *parts: str) -> Path:
        """``output_dir/parts…``, its parent directory created."""
        target = Path(self.output_dir, *parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        return target


class LlmResource(dg.ConfigurableResource):
    """The agents' model provider (``CRO_LLM_*``): ``offline`` (default, no model) or ``openai``.

    ``api_key`` arrives as ``EnvVar("OPENAI_API_KEY")`` so its value never reaches logs or metadata.
    ``cache_path`` is the SQLite response cache shared by every run on this machine.
    """

    provider: str = "offline"
    model: str = DEFAULT_MODEL
    base_url: str | None = None
    api_key: str | None = None
    price_per_1k_input: float = DEFAULT_PRICE_PER_1K_INPUT
    price_per_1k_output: float = DEFAULT_PRICE_PER_1K_OUTPUT
    timeout_s: float = 60.0
    structured_output: str = "json_schema"
    cache_path: str | None = None

    def agent_settings(self) -> AgentSettings:
        settings = AgentSettings(
            provider=self.provider,  # type: ignore[arg-type]
            model=self.model,
            api_key=self.api_key or None,
            base_url=self.base_url or None,
            price_per_1k_input=self.price_per_1k_input,
            price_per_1k_output=self.price_per_1k_output,
            timeout_s=self.timeout_s,
            structured_output=self.structured_output,  # type: ignore[arg-type]
        )
        settings.check()
        return settings

    def runtime(self) -> Any:
        """A fresh :class:`agents.runtime.AgentRuntime` (its run records are this run's)."""
        from agents.runtime import AgentRuntime

        return AgentRuntime.from_settings(self.agent_settings(), cache_path=self.cache_path)


def llm_resource(settings: Settings) -> LlmResource:
    llm = settings.llm
    return LlmResource(
        provider=llm.provider,
        model=llm.model,
        base_url=llm.base_url,
        api_key=dg.EnvVar("OPENAI_API_KEY") if settings.credentials_present.get("OPENAI_API_KEY") else None,
        price_per_1k_input=llm.price_per_1k_input,
        price_per_1k_output=llm.price_per_1k_output,
        timeout_s=llm.timeout_s,
        structured_output=llm.structured_output,
        cache_path=str(settings.llm_cache_path),
    )


class OutboundResource(dg.ConfigurableResource):
    """The outbound channels (WhatsApp, e-mail, Slack, Notion, HubSpot) and where dry-run files go.

    A channel sends for real only when ``live`` (``CRO_OUTBOUND=live``) *and* its credentials are set;
    otherwise it is a dry run: the outbox records what would be sent and ``files_dir`` gets a readable
    copy. Secrets arrive as ``EnvVar`` and never reach logs or metadata.
    """

    live: bool = False
    files_dir: str
    whatsapp_access_token: str | None = None
    whatsapp_phone_number_id: str | None = None
    whatsapp_base_url: str | None = None
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = True
    slack_token: str | None = None
    slack_channel: str | None = None
    slack_base_url: str | None = None
    notion_token: str | None = None
    notion_database_id: str | None = None
    notion_base_url: str | None = None
    hubspot_token: str | None = None
    hubspot_host: str | None = None

    def is_live(self, channel: str) -> bool:
        """Whether ``channel`` would leave the machine (live mode and its credentials present)."""
        needed = {
            "whatsapp": (self.whatsapp_access_token, self.whatsapp_phone_number_id),
            "email": (self.smtp_host,),
            "slack": (self.slack_token, self.slack_channel),
            "notion": (self.notion_token, self.notion_database_id),
            "hubspot": (self.hubspot_token,),
        }[channel]
        return self.live and all(needed)

    def sender(self, channel: str) -> Any:
        """The :class:`integrations.outbound.Sender` for ``channel`` (dry run unless :meth:`is_live`)."""
        dry_run = not self.is_live(channel)
        if channel == "whatsapp":
            from integrations.whatsapp.sender import WhatsAppSender

            extra = {"base_url": self.whatsapp_base_url} if self.whatsapp_base_url else {}
            return WhatsAppSender(self.whatsapp_access_token, self.whatsapp_phone_number_id, dry_run=dry_run, **extra)
        if channel == "email":
            from integrations.email import SmtpSender

            return SmtpSender(
                self.smtp_host,
                self.smtp_port,
                username=self.smtp_username,
                password=self.smtp_password,
                starttls=self.smtp_starttls,
                dry_run=dry_run,
            )
        if channel == "slack":
            from integrations.slack import SlackNotifier

            return SlackNotifier(self.slack_token, base_url=self.slack_base_url, dry_run=dry_run)
        if channel == "notion":
            from integrations.notion import NotionPublisher

            return NotionPublisher(
                self.notion_token, self.notion_database_id, base_url=self.notion_base_url, dry_run=dry_run
            )
        raise ValueError(f"no sender for channel {channel!r}")

    def hubspot_writer(self) -> Any:
        """The HubSpot contact writer, or ``None`` when not live (sync_crm then reports what would change)."""
        if not self.is_live("hubspot"):
            return None
        from integrations.hubspot.writeback import HubSpotContactWriter

        return HubSpotContactWriter(self.hubspot_token, host=self.hubspot_host)  # type: ignore[arg-type]


def outbound_resource(settings: Settings) -> OutboundResource:
    def secret(name: str) -> Any:
        return dg.EnvVar(name) if settings.credentials_present.get(name) else None

    return OutboundResource(
        live=settings.outbound_live,
        files_dir=str(settings.data_dir / "outbox"),
        whatsapp_access_token=secret("WHATSAPP_ACCESS_TOKEN"),
        whatsapp_phone_number_id=secret("WHATSAPP_PHONE_NUMBER_ID"),
        smtp_host=secret("SMTP_HOST"),
        smtp_username=secret("SMTP_USERNAME"),
        smtp_password=secret("SMTP_PASSWORD"),
        slack_token=secret("SLACK_BOT_TOKEN"),
        slack_channel=secret("SLACK_CHANNEL"),
        notion_token=secret("NOTION_TOKEN"),
        notion_database_id=secret("NOTION_DATABASE_ID"),
        hubspot_token=secret("HUBSPOT_ACCESS_TOKEN"),
    )


def dbt_cli_resource() -> Any:
    from dagster_dbt import DbtCliResource

    from assets.dbt.project import dbt_project

    # the dbt next to this interpreter, so a bare PATH (cron, the daemon) still finds it
    return DbtCliResource(project_dir=dbt_project, dbt_executable=str(Path(sys.executable).parent / "dbt"))


def build_resources(settings: Settings) -> dict[str, Any]:
    """Resources for the active environment. Secrets stay ``EnvVar`` references until run time."""
    if settings.env == "prod":
        warehouse = WarehouseResource(url=dg.EnvVar("CRO_WAREHOUSE_URL"))
        sheets = SheetsResource(
            spreadsheet_id=dg.EnvVar("GOOGLE_SHEETS_SPREADSHEET_ID"),
            service_account_file=dg.EnvVar("GOOGLE_SERVICE_ACCOUNT_FILE"),
        )
        hubspot = HubSpotResource(access_token=dg.EnvVar("HUBSPOT_ACCESS_TOKEN"))
    else:
        warehouse = WarehouseResource(url=settings.warehouse_url)
        sheets = SheetsResource(csv_dir=str(settings.demo_dir / "sheets"))
        hubspot = HubSpotResource(demo_dir=str(settings.demo_dir))
    whatsapp = WhatsAppResource(landing_dir=str(settings.whatsapp_landing_dir))
    return {
        "warehouse": warehouse,
        "sheets": sheets,
        "hubspot": hubspot,
        "whatsapp": whatsapp,
        "dbt": dbt_cli_resource(),
        "dbt_docs": DbtDocsResource(output_dir=str(settings.dbt_docs_dir)),
        "reports": ReportsResource(output_dir=str(settings.reports_dir)),
        "llm": llm_resource(settings),
        "outbound": outbound_resource(settings),
    }
