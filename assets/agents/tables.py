"""Agent outputs as warehouse rows (schema ``agents``); no Dagster here.

* ``agents.reports`` — one row per asset and São Paulo day: the whole output (``payload_json``, the
  Pydantic model as JSON), its markdown, who wrote it. A re-run the same day replaces that day's row;
  earlier days stay (history).
* ``agents.retention_plan``, ``agents.media_plan``, ``agents.sales_funnel_review``,
  ``agents.finance_scenarios`` — the current plan or review as rows, replaced on each run.
* ``agents.campaign_drafts`` — every draft ever proposed, keyed by ``campaign_id`` and ``version``
  (a hash of what would be sent: segment, channel, template/subject, copy, schedule, budget). A re-run
  that proposes the same draft keeps the stored row (its approval status survives); a changed draft
  is a new version that needs its own approval.
* ``agents.agent_runs`` — one row per agent call: provider, model, tokens, latency, estimated cost,
  cache hit, attempts, validation errors, status.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from typing import Any

import pyarrow as pa

from agents.schemas import AgentOutput, CampaignDraft, FinanceReport, MediaPlan, RetentionPlan, SalesReview

SCHEMA = "agents"

REPORTS = pa.schema(
    [
        ("asset", pa.string()),
        ("as_of_date", pa.date32()),
        ("language", pa.string()),
        ("generated_by", pa.string()),
        ("notice", pa.string()),
        ("markdown", pa.string()),
        ("payload_json", pa.string()),
        ("dagster_run_id", pa.string()),
        ("created_at", pa.timestamp("us", tz="UTC")),
    ]
)
RETENTION = pa.schema(
    [
        ("as_of_date", pa.date32()),
        ("rank", pa.int32()),
        ("segment", pa.string()),
        ("customers", pa.int64()),
        ("channel", pa.string()),
        ("action", pa.string()),
        ("expected_churn_reduction_pct", pa.float64()),
        ("assumption", pa.string()),
        ("generated_by", pa.string()),
    ]
)
MEDIA = pa.schema(
    [
        ("as_of_date", pa.date32()),
        ("channel", pa.string()),
        ("budget_brl", pa.float64()),
        ("cac_brl", pa.float64()),
        ("ltv_brl", pa.float64()),
        ("ltv_cac", pa.float64()),
        ("payback_months", pa.float64()),
        ("expected_new_customers", pa.float64()),
        ("plan_budget_brl", pa.float64()),
        ("region", pa.string()),
        ("generated_by", pa.string()),
    ]
)
CAMPAIGNS = pa.schema(
    [
        ("campaign_id", pa.string()),
        ("version", pa.string()),
        ("status", pa.string()),
        ("channel", pa.string()),
        ("segment", pa.string()),
        ("audience_size", pa.int64()),
        ("whatsapp_template", pa.string()),
        ("email_subject", pa.string()),
        ("schedule_at", pa.timestamp("us", tz="UTC")),
        ("budget_brl", pa.float64()),
        ("success_metric", pa.string()),
        ("generated_by", pa.string()),
        ("payload_json", pa.string()),
        ("proposed_at", pa.timestamp("us", tz="UTC")),
        ("dagster_run_id", pa.string()),
    ]
)
FUNNEL = pa.schema(
    [
        ("as_of_date", pa.date32()),
        ("stage_order", pa.int32()),
        ("stage", pa.string()),
        ("deals", pa.int64()),
        ("conversion_from_previous_rate", pa.float64()),
        ("median_days_to_win", pa.float64()),
        ("generated_by", pa.string()),
    ]
)
SCENARIOS = pa.schema(
    [
        ("as_of_date", pa.date32()),
        ("period", pa.string()),
        ("scenario", pa.string()),
        ("months", pa.int32()),
        ("receita_liquida_brl", pa.float64()),
        ("lucro_liquido_brl", pa.float64()),
        ("generated_by", pa.string()),
    ]
)
RUNS = pa.schema(
    [
        ("run_id", pa.string()),
        ("started_at", pa.string()),
        ("asset", pa.string()),
        ("agent", pa.string()),
        ("provider", pa.string()),
        ("model", pa.string()),
        ("schema", pa.string()),
        ("cache_key", pa.string()),
        ("generated_by", pa.string()),
        ("input_tokens", pa.int64()),
        ("output_tokens", pa.int64()),
        ("latency_ms", pa.float64()),
        ("cost_usd", pa.float64()),
        ("cache_hit", pa.bool_()),
        ("attempts", pa.int32()),
        ("retried", pa.bool_()),
        ("validation_errors", pa.string()),
        ("status", pa.string()),
        ("error", pa.string()),
        ("dagster_run_id", pa.string()),
    ]
)


def _table(rows: Sequence[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    return pa.Table.from_pylist([{name: row.get(name) for name in schema.names} for row in rows], schema=schema)


def report_row(
    asset: str, outputs: Sequence[AgentOutput], markdown: str, *, as_of: dt.date, run_id: str, now: dt.datetime
) -> dict[str, Any]:
    """One asset's outputs of the day; ``payload_json`` is the output, or a JSON array when there are several."""
    if len(outputs) == 1:
        payload = outputs[0].model_dump_json()
    else:
        payload = json.dumps([o.model_dump(mode="json") for o in outputs], ensure_ascii=False)
    by_llm = [o for o in outputs if o.generated_by == "llm"]
    return {
        "asset": asset,
        "as_of_date": as_of,
        "language": getattr(outputs[0], "language", "pt") if outputs else "pt",
        "generated_by": "llm" if by_llm else "offline",
        "notice": (by_llm or list(outputs))[0].notice if outputs else "",
        "markdown": markdown,
        "payload_json": payload,
        "dagster_run_id": run_id,
        "created_at": now,
    }


def reports_table(rows: Sequence[dict[str, Any]]) -> pa.Table:
    return _table(rows, REPORTS)


def retention_table(plan: RetentionPlan, as_of: dt.date) -> pa.Table:
    rows = [
        {"as_of_date": as_of, "rank": rank, "generated_by": plan.generated_by, **item.model_dump()}
        for rank, item in enumerate(plan.items, start=1)
    ]
    return _table(rows, RETENTION)


def media_table(plan: MediaPlan, as_of: dt.date) -> pa.Table:
    rows = [
        {
            "as_of_date": as_of,
            "plan_budget_brl": plan.budget_brl,
            "region": plan.region,
            "generated_by": plan.generated_by,
            **a.model_dump(),
        }
        for a in plan.allocations
    ]
    return _table(rows, MEDIA)


def campaign_version(draft: CampaignDraft) -> str:
    """A hash of what the draft would send; anything that changes the message changes the version."""
    sent = draft.model_dump(
        mode="json",
        include={
            "channel",
            "segment",
            "whatsapp_template",
            "email_subject",
            "variants",
            "schedule",
            "budget_brl",
            "audience_size",
        },
    )
    return hashlib.sha256(json.dumps(sent, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:12]


def campaigns_table(drafts: Sequence[CampaignDraft], *, run_id: str, now: dt.datetime) -> pa.Table:
    rows = [
        {
            "campaign_id": d.campaign_id,
            "version": campaign_version(d),
            "status": "pending_approval",
            "channel": d.channel,
            "segment": d.segment,
            "audience_size": d.audience_size,
            "whatsapp_template": d.whatsapp_template,
            "email_subject": d.email_subject,
            "schedule_at": d.schedule.astimezone(dt.UTC),
            "budget_brl": d.budget_brl,
            "success_metric": d.success_metric,
            "generated_by": d.generated_by,
            "payload_json": d.model_dump_json(),
            "proposed_at": now,
            "dagster_run_id": run_id,
        }
        for d in drafts
    ]
    return _table(rows, CAMPAIGNS)


def funnel_table(review: SalesReview, as_of: dt.date) -> pa.Table:
    rows = [
        {"as_of_date": as_of, "stage_order": i, "generated_by": review.generated_by, **s.model_dump()}
        for i, s in enumerate(review.stages, start=1)
    ]
    return _table(rows, FUNNEL)


def scenarios_table(report: FinanceReport, as_of: dt.date) -> pa.Table:
    rows = [
        {"as_of_date": as_of, "period": report.period, "generated_by": report.generated_by, **s.model_dump()}
        for s in report.scenarios
    ]
    return _table(rows, SCENARIOS)


def runs_table(rows: Sequence[dict[str, Any]]) -> pa.Table:
    return _table(rows, RUNS)


def usage_metadata(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """What a set of agent calls (``RunRecord.as_row()`` dicts) cost: calls, tokens, US$, cache hits, retries."""
    return {
        "agent_calls": len(records),
        "llm_input_tokens": sum(int(r["input_tokens"]) for r in records),
        "llm_output_tokens": sum(int(r["output_tokens"]) for r in records),
        "llm_cost_usd": round(sum(float(r["cost_usd"]) for r in records), 6),
        "llm_cache_hits": sum(bool(r["cache_hit"]) for r in records),
        "retries": sum(bool(r["retried"]) for r in records),
        "agent_latency_ms": round(sum(float(r["latency_ms"]) for r in records), 1),
    }


def write_reports(store: Any, reports: Sequence[dict[str, Any]], runs: Sequence[dict[str, Any]]) -> None:
    """``agents.reports`` rows (:func:`report_row`) and ``agents.agent_runs`` rows, merged on their keys."""
    if reports:
        store.merge(SCHEMA, "reports", reports_table(reports), ["asset", "as_of_date"])
    if runs:
        store.merge(SCHEMA, "agent_runs", runs_table(runs), ["run_id"])


__all__ = [
    "SCHEMA",
    "campaign_version",
    "campaigns_table",
    "funnel_table",
    "media_table",
    "report_row",
    "reports_table",
    "retention_table",
    "runs_table",
    "scenarios_table",
    "usage_metadata",
    "write_reports",
]
