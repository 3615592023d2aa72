"""``publish_reports``: the agents' reports and the forecasts to Notion (in place), a summary to Slack.

Each report is one Notion page per asset and period (``growth_brief:2026-W48``, ``finance_report:2026-10``,
``forecast:revenue:2026-11``): a re-run updates that page, it never creates a second one. Every page
and the Slack message go through the outbox keyed by the page key and a hash of the content, so an
unchanged report is not sent again and a changed one updates its page.
"""

# no `from __future__ import annotations`: Dagster inspects the `context` annotation at runtime

import datetime as dt
import json
import time
from pathlib import Path
from typing import Any

import dagster as dg
from dagster import OpExecutionContext
from pydantic import Field

from orchestration.resources import OutboundResource, ReportsResource, WarehouseResource

WEEKLY = ("growth_brief", "retention_plan", "media_plan", "campaign_drafts", "sales_review")
TITLES = {
    "growth_brief": "Growth brief",
    "retention_plan": "Plano de retenção",
    "media_plan": "Plano de mídia",
    "campaign_drafts": "Campanhas propostas",
    "sales_review": "Revisão comercial",
    "finance_report": "DRE e relatório financeiro",
    "playbook_churn_analysis": "Análise de churn (playbook)",
    "playbook_monthly_dre": "DRE mensal (playbook)",
}
# The monthly playbooks' reports: one page per month (the DRE's period, else the report's month).
MONTHLY = ("playbook_monthly_dre", "playbook_churn_analysis")
FORECASTS = ("revenue", "customers", "daily_revenue")


class PublishConfig(dg.Config):
    """Launchpad options of a publication."""

    assets: list[str] = Field(default_factory=lambda: [*WEEKLY, "finance_report"])  # agents.reports assets
    forecasts: bool = True  # also the forecast reports (data/reports/forecasts/<name>/README.md)
    slack_summary: bool = True


def page_key(asset: str, as_of: dt.date, payload: dict[str, Any]) -> str:
    """One page per asset and period: the ISO week for weekly reports, the DRE month for the finance report,
    the month (the report's ``period``, else the month of ``as_of``) for the monthly playbooks."""
    if asset == "finance_report" and payload.get("period"):
        return f"{asset}:{payload['period']}"
    if asset in MONTHLY:
        return f"{asset}:{payload.get('period') or f'{as_of:%Y-%m}'}"
    year, week, _ = as_of.isocalendar()
    return f"{asset}:{year}-W{week:02d}"


def latest_reports(store: Any, assets: list[str]) -> list[dict[str, Any]]:
    """The newest ``agents.reports`` row of each asset."""
    if not store.table_exists("agents", "reports"):
        return []
    # only each asset's newest day: the table keeps every day's report (history), markdown and all
    rows = store.query(
        "select r.asset, r.as_of_date, r.markdown, r.payload_json from agents.reports as r join "
        "(select asset, max(as_of_date) as as_of_date from agents.reports group by asset) as newest "
        "on r.asset = newest.asset and r.as_of_date = newest.as_of_date"
    )
    newest: dict[str, dict[str, Any]] = {}
    for asset, as_of, markdown, payload in rows:
        if asset in assets:
            as_of = as_of if isinstance(as_of, dt.date) else dt.date.fromisoformat(str(as_of)[:10])
            newest[asset] = {"asset": asset, "as_of": as_of, "markdown": markdown, "payload": json.loads(payload)}
    return [newest[a] for a in assets if a in newest]


def notion_pages(reports: list[dict[str, Any]], forecast_dir: Path | None, today: dt.date) -> list[dict[str, str]]:
    pages = []
    for report in reports:
        key = page_key(
            report["asset"], report["as_of"], report["payload"] if isinstance(report["payload"], dict) else {}
        )
        period = key.split(":", 1)[1]
        pages.append(
            {
                "key": key,
                "title": f"{TITLES.get(report['asset'], report['asset'])} — {period}",
                "markdown": report["markdown"],
            }
        )
    if forecast_dir is not None:
        for name in FORECASTS:
            readme = forecast_dir / name / "README.md"
            if readme.exists():
                key = f"forecast:{name}:{today:%Y-%m}"
                pages.append(
                    {
                        "key": key,
                        "title": f"Previsão {name} — {today:%Y-%m}",
                        "markdown": readme.read_text(encoding="utf-8"),
                    }
                )
    return pages


def slack_summary(store: Any, reports: list[dict[str, Any]], links: list[tuple[str, str]]) -> str:
    """Key numbers of the last complete month and the brief's headline, with links to the pages."""
    lines = ["*+Pet — relatório publicado*"]
    brief = next((r for r in reports if r["asset"] == "growth_brief"), None)
    if brief and isinstance(brief["payload"], dict) and brief["payload"].get("headline"):
        lines.append(brief["payload"]["headline"])
    elif store.table_exists("marts", "fct_unit_economics"):
        rows = store.query(
            "select month, mrr_brl, logo_churn_rate, blended_cac_brl, ltv_to_cac_ratio from marts.fct_unit_economics "
            "where is_complete order by month desc limit 1"
        )
        if rows:
            month, mrr, churn, cac, ratio = rows[0]
            lines.append(
                f"{month:%Y-%m}: MRR R$ {float(mrr or 0):,.2f}, churn {100 * float(churn or 0):.2f}%, "
                f"CAC R$ {float(cac or 0):,.2f}, LTV:CAC {float(ratio or 0):.1f}x"
            )
    for title, url in links:
        lines.append(f"• <{url}|{title}>" if url.startswith("http") else f"• {title}")
    return "\n".join(lines)


def publish(
    store: Any,
    outbound: OutboundResource,
    config: PublishConfig,
    *,
    reports_dir: str,
    run_id: str,
    today: dt.date | None = None,
) -> dict[str, Any]:
    """Publish ``config.assets`` (and the forecasts) to Notion and a summary to Slack; returns the run metadata.

    What ``publish_reports`` does, as a plain function so the playbooks publish their reports the same way.
    Raises :class:`dagster.Failure` when there is nothing to publish or a publication still fails after the
    channel's retries.
    """
    from integrations.outbound import OutboundMessage, digest
    from orchestration.outbound.outbox import Outbox

    started = time.perf_counter()
    found = latest_reports(store, list(config.assets))
    forecast_dir = Path(reports_dir) / "forecasts" if config.forecasts else None
    today = today or dt.datetime.now(dt.UTC).date()
    pages = notion_pages(found, forecast_dir, today)
    if not pages:
        raise dg.Failure(
            description="Nothing to publish: no agent reports or forecasts yet. Materialize the agents group "
            "(`cro materialize 'group:agents'`) and the forecasts first.",
            allow_retries=False,
        )
    outbox = Outbox(store, files_dir=Path(outbound.files_dir))
    notion = outbound.sender("notion")
    source = f"publish:{today.isoformat()}"
    messages = [
        OutboundMessage(
            idempotency_key=f"notion:{page['key']}:{digest(page['markdown'])}",
            channel="notion",
            recipient="notion-database",
            payload=page,
        )
        for page in pages
    ]
    outbox.enqueue(messages, source=source, run_id=run_id)
    notion_report = outbox.deliver(notion, source=source, run_id=run_id)
    published = {r["idempotency_key"]: r for r in outbox.rows(source=source)}
    links = []
    for message in messages:
        row = published.get(message.idempotency_key, {})
        page_id = str(row.get("provider_id") or "")
        url = f"https://www.notion.so/{page_id.replace('-', '')}" if page_id and row.get("status") == "sent" else ""
        links.append((message.payload["title"], url))
    slack_report = None
    if config.slack_summary:
        text = slack_summary(store, found, links)
        slack_source = f"publish-slack:{today.isoformat()}"
        outbox.enqueue(
            [
                OutboundMessage(
                    idempotency_key=f"slack:summary:{today.isoformat()}:{digest(text)}",
                    channel="slack",
                    recipient=outbound.slack_channel or "#cro",
                    payload={"text": text},
                )
            ],
            source=slack_source,
            run_id=run_id,
        )
        slack_report = outbox.deliver(outbound.sender("slack"), source=slack_source, run_id=run_id)
    metadata = {
        "pages": len(pages),
        "notion_live": not notion.dry_run,
        "notion": dg.MetadataValue.json({k: v for k, v in vars(notion_report).items()}),
        "slack": dg.MetadataValue.json({k: v for k, v in vars(slack_report).items()} if slack_report else {}),
        "page_keys": dg.MetadataValue.json([p["key"] for p in pages]),
        "outbox_files": dg.MetadataValue.path(outbound.files_dir),
        "duration_s": round(time.perf_counter() - started, 3),
    }
    failed = notion_report.failed_retryable + (slack_report.failed_retryable if slack_report else 0)
    if failed:
        raise dg.Failure(description=f"{failed} publication(s) failed after retries; a re-run retries only those.")
    return metadata


@dg.op(
    name="publish_to_notion_and_slack",
    out=dg.Out(dg.Nothing),
    retry_policy=dg.RetryPolicy(max_retries=2, delay=30, backoff=dg.Backoff.EXPONENTIAL),
    description="Agents' reports and forecasts to Notion (one page per report and period, updated in place) "
    "and a Slack summary, through the outbox.",
)
def publish_reports_op(
    context: OpExecutionContext,
    config: PublishConfig,
    warehouse: WarehouseResource,
    outbound: OutboundResource,
    reports: ReportsResource,
) -> dg.Output:
    metadata = publish(warehouse.get(), outbound, config, reports_dir=reports.output_dir, run_id=context.run_id)
    return dg.Output(None, metadata=metadata)


@dg.job(
    name="publish_reports",
    description="Publish the growth brief, plans, DRE and forecasts to Notion and a summary to Slack.",
    tags={"cro/kind": "outbound"},
)
def publish_reports() -> None:
    publish_reports_op()
