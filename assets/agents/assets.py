"""Agent assets (group ``agents``): the weekly plans, drafts and reports, from the marts.

One multi-asset, ``agents``, computes the six outputs in one step so that the warehouse is read by
one read-only connection and then written once (a DuckDB file has one writer; six parallel steps
would fight over it), and so the growth brief reuses the other outputs of the same run. Each output
is still its own asset: materialize any subset from the UI or ``cro materialize``.

=================== ====================================================================
asset               what
=================== ====================================================================
agents/retention_plan   Planner: segments to work, actions, expected churn reduction
agents/media_plan       Planner: the media budget (``AgentsConfig.media_budget_brl``) split by channel
agents/campaign_drafts  CampaignBuilder: one draft per configured segment, pending approval
agents/finance_report   Finance: last complete month's DRE commentary, scenarios, unit economics
agents/sales_review     SalesOps: funnel conversion, velocity, bottleneck
agents/growth_brief     the week's brief: Researcher answers beside every proposal above
=================== ====================================================================

Every output is validated by the guardrails before it is written; an output the guardrails reject
is not written, the others are, and the step then fails naming what was rejected and why. Tables:
:mod:`assets.agents.tables`; markdown: ``<reports>/agents/<name>.md`` and the asset's metadata.
"""

# no `from __future__ import annotations`: Dagster inspects the `context` annotation at runtime

import datetime as dt
import time
from collections.abc import Callable, Iterator
from typing import Any

import dagster as dg
from dagster import AssetExecutionContext
from pydantic import Field

from orchestration.resources import LlmResource, ReportsResource, WarehouseResource

GROUP = "agents"
SCHEMA = "agents"
SAO_PAULO = "America/Sao_Paulo"

_DEPS: dict[str, tuple[str, ...]] = {
    "retention_plan": ("dim_segments", "dim_customers", "fct_campaign_results", "fct_churn_monthly"),
    "media_plan": ("fct_cac", "fct_ltv", "fct_unit_economics", "dim_customers", "fct_churn_by_channel_monthly"),
    "campaign_drafts": ("dim_segments", "dim_customers", "fct_campaign_results"),
    "finance_report": ("fct_dre_monthly", "fct_dre_projected", "fct_unit_economics"),
    "sales_review": ("fct_sales_funnel",),
    "growth_brief": ("fct_unit_economics", "fct_churn_monthly", "fct_mrr_movements", "fct_cac", "fct_ltv"),
}
_DESCRIPTIONS = {
    "retention_plan": "Planner: which segments to work this week, how, and the expected churn reduction.",
    "media_plan": "Planner: the media budget split by channel from CAC, LTV and payback.",
    "campaign_drafts": "CampaignBuilder: WhatsApp/e-mail drafts with A/B variants; nothing is sent without approval.",
    "finance_report": "Finance: DRE commentary for the last complete month, scenarios and unit economics.",
    "sales_review": "SalesOps: deal funnel conversion, velocity and the bottleneck.",
    "growth_brief": "The weekly growth brief: the week's numbers and every agent's proposals on one page.",
}
NAMES = tuple(_DESCRIPTIONS)


def agent_key(name: str) -> dg.AssetKey:
    return dg.AssetKey([SCHEMA, name])


def _spec(name: str) -> dg.AssetSpec:
    deps: list[dg.AssetKey] = [dg.AssetKey(["marts", mart]) for mart in _DEPS[name]]
    if name == "growth_brief":
        deps += [agent_key(n) for n in NAMES if n != "growth_brief"] + [dg.AssetKey(["forecasts", "revenue"])]
    return dg.AssetSpec(
        agent_key(name),
        group_name=GROUP,
        deps=deps,
        kinds={"python", "langchain"},
        description=_DESCRIPTIONS[name],
        skippable=True,
    )


class AgentsConfig(dg.Config):
    """Launchpad options of the agent run."""

    media_budget_brl: float = 5000.0  # the media plan's budget (BRL); the plan never exceeds it
    media_region: str | None = None  # e.g. "SP" or "São Paulo": weight channels by that region's customers
    campaign_segments: list[str] = Field(default_factory=lambda: ["inactive_60d", "at_risk"])  # a draft each
    campaign_channel: str = "whatsapp"  # whatsapp | email
    campaign_budget_brl: float = 1000.0  # each draft's budget cap (BRL)
    language: str = "pt"  # pt | en: the language of every output


class _Outcome:
    """What one asset produced in this run: its output(s), markdown and the agent calls it made."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.outputs: list[Any] = []
        self.markdown = ""
        self.records: list[dict[str, Any]] = []
        self.error: str | None = None
        self.notes: list[str] = []


def _request(language: str, pt: str, en: str) -> str:
    return en if language == "en" else pt


def _compute(
    context: AssetExecutionContext, config: AgentsConfig, runtime: Any, sql: Any, selected: set[str]
) -> dict[str, _Outcome]:
    """Run the selected agents (plus what the brief needs) inside one read-only SQL session."""
    from agents.brief import brief_markdown, growth_brief
    from agents.campaigns import build_campaign
    from agents.finance import report_finance
    from agents.planner import plan_media, plan_retention
    from agents.render import to_markdown
    from agents.router import route_offline
    from agents.runtime import GuardrailViolation
    from agents.sales_ops import review_sales

    lang = "en" if config.language == "en" else "pt"
    needed = set(selected) | (set(NAMES) if "growth_brief" in selected else set())
    outcomes: dict[str, _Outcome] = {}

    def run(name: str, make: Callable[[_Outcome], None]) -> None:
        outcome = _Outcome(name)
        first = len(runtime.records)
        try:
            make(outcome)
        except GuardrailViolation as exc:
            outcome.error = str(exc)
        except ValueError as exc:  # a request the data cannot serve (no such segment, no complete month …)
            outcome.error = f"{type(exc).__name__}: {exc}"
        outcome.records = [r.as_row() for r in runtime.records[first:]]
        if outcome.error:
            context.log.error(f"{name}: {outcome.error}")
        outcomes[name] = outcome

    def retention(o: _Outcome) -> None:
        request = _request(lang, "Plano de retenção para esta semana", "Retention plan for this week")
        plan = plan_retention(runtime, sql, request=request, decision=route_offline(request))
        o.outputs, o.markdown = [plan], to_markdown(plan)

    def media(o: _Outcome) -> None:
        request = _request(lang, "Plano de mídia", "Media plan")
        plan = plan_media(
            runtime,
            sql,
            budget_brl=config.media_budget_brl,
            region=config.media_region,
            request=request,
            decision=route_offline(request),
        )
        o.outputs, o.markdown = [plan], to_markdown(plan)

    def campaigns(o: _Outcome) -> None:
        from agents.guardrails import MartFacts

        facts = MartFacts.load(sql)
        channel = "email" if config.campaign_channel == "email" else "whatsapp"
        for segment in config.campaign_segments:
            if segment not in facts.segments:
                o.notes.append(f"segment {segment!r} has no customers today: no draft")
                continue
            request = _request(
                lang, f"Campanha de {channel} para o segmento {segment}", f"{channel} campaign for segment {segment}"
            )
            draft = build_campaign(
                runtime,
                sql,
                segment=segment,
                budget_brl=config.campaign_budget_brl,
                channel=channel,
                request=request,
                decision=route_offline(request),
            )
            if draft.audience_size == 0:
                o.notes.append(f"segment {segment!r} has nobody reachable on {channel}: no draft")
                continue
            o.outputs.append(draft)
        o.markdown = "\n\n".join([*(f"> {n}" for n in o.notes), *(to_markdown(d) for d in o.outputs)]) or (
            "No campaign drafted."
        )

    def finance(o: _Outcome) -> None:
        request = _request(lang, "DRE do último mês com cenários", "Last month's P&L with scenarios")
        report = report_finance(runtime, sql, request=request, decision=route_offline(request))
        o.outputs, o.markdown = [report], to_markdown(report)

    def sales(o: _Outcome) -> None:
        request = _request(lang, "Revisão do funil de vendas", "Sales funnel review")
        review = review_sales(runtime, sql, request=request, decision=route_offline(request))
        o.outputs, o.markdown = [review], to_markdown(review)

    makers = {
        "retention_plan": retention,
        "media_plan": media,
        "campaign_drafts": campaigns,
        "finance_report": finance,
        "sales_review": sales,
    }
    with sql.session():
        for name, make in makers.items():
            if name in needed:
                run(name, make)
        if "growth_brief" in selected:

            def brief(o: _Outcome) -> None:
                def first(name: str) -> Any:
                    found = outcomes.get(name)
                    return found.outputs[0] if found and found.outputs else None

                result = growth_brief(
                    runtime,
                    sql,
                    retention=first("retention_plan"),
                    media=first("media_plan"),
                    campaigns=outcomes["campaign_drafts"].outputs if "campaign_drafts" in outcomes else [],
                    finance=first("finance_report"),
                    sales=first("sales_review"),
                    language=lang,
                )
                o.outputs, o.markdown = [result], brief_markdown(result)

            run("growth_brief", brief)
    return outcomes


def _write(
    store: Any, outcomes: dict[str, _Outcome], selected: set[str], *, as_of: dt.date, run_id: str
) -> dict[str, int]:
    """Write the selected, accepted outputs; returns rows written per asset."""
    from assets.agents import tables

    now = dt.datetime.now(dt.UTC)
    written: dict[str, int] = {}
    reports = []
    runs = []
    with store.session():
        for name in NAMES:
            outcome = outcomes.get(name)
            if outcome is None or name not in selected:
                continue
            runs += [{**r, "asset": name, "dagster_run_id": run_id} for r in outcome.records]
            if outcome.error:
                continue
            detail = None
            if name == "retention_plan":
                detail = ("retention_plan", tables.retention_table(outcome.outputs[0], as_of), ["rank"], True)
            elif name == "media_plan":
                detail = ("media_plan", tables.media_table(outcome.outputs[0], as_of), ["channel"], True)
            elif name == "sales_review":
                detail = ("sales_funnel_review", tables.funnel_table(outcome.outputs[0], as_of), ["stage"], True)
            elif name == "finance_report":
                detail = ("finance_scenarios", tables.scenarios_table(outcome.outputs[0], as_of), ["scenario"], True)
            elif name == "campaign_drafts" and outcome.outputs:
                drafts = tables.campaigns_table(outcome.outputs, run_id=run_id, now=now)
                detail = ("campaign_drafts", drafts, ["campaign_id", "version"], False)
            if detail is not None:
                table_name, data, key, replace = detail
                store.merge(
                    SCHEMA, table_name, data, key, replace_all=replace, keep_existing=not replace, unique_keys=False
                )
                written[name] = data.num_rows
            else:
                written[name] = len(outcome.outputs)
            reports.append(
                tables.report_row(name, outcome.outputs, outcome.markdown, as_of=as_of, run_id=run_id, now=now)
            )
        tables.write_reports(store, reports, runs)
    return written


@dg.multi_asset(
    name="agents",
    specs=[_spec(name) for name in NAMES],
    can_subset=True,
    description="The agents: plans, campaign drafts, reports and the weekly growth brief (one step, see the module).",
)
def agent_outputs(
    context: AssetExecutionContext,
    config: AgentsConfig,
    warehouse: WarehouseResource,
    llm: LlmResource,
    reports: ReportsResource,
) -> Iterator[dg.MaterializeResult]:
    from zoneinfo import ZoneInfo

    from agents.sql_tool import SqlTool
    from assets.agents.tables import usage_metadata

    started = time.perf_counter()
    selected = {key.path[-1] for key in context.selected_asset_keys}
    store = warehouse.get()
    missing = [m for m in ("dim_segments", "fct_unit_economics") if not store.table_exists("marts", m)]
    if missing:
        raise dg.Failure(
            description=f"marts {', '.join(missing)} not found in the warehouse: materialize the dbt models first "
            "(`cro materialize '*'`, or select them with these assets in the UI).",
            allow_retries=False,
        )
    try:
        runtime = llm.runtime()
    except ValueError as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from exc
    as_of = dt.datetime.now(ZoneInfo(SAO_PAULO)).date()
    sql = SqlTool(warehouse.url)
    outcomes = _compute(context, config, runtime, sql, selected)
    written = _write(store, outcomes, selected, as_of=as_of, run_id=context.run_id)

    for name in NAMES:
        outcome = outcomes.get(name)
        if name not in selected or outcome is None or outcome.error:
            continue
        path = reports.path("agents", f"{name}.md")
        path.write_text(outcome.markdown, encoding="utf-8")
        generated = sorted({o.generated_by for o in outcome.outputs}) or ["offline"]
        yield dg.MaterializeResult(
            asset_key=agent_key(name),
            metadata={
                "dagster/row_count": written.get(name, 0),
                "generated_by": ", ".join(generated),
                "provider": f"{runtime.provider.name}/{runtime.provider.model}",
                "as_of_date": as_of.isoformat(),
                "report": dg.MetadataValue.path(str(path)),
                "preview": dg.MetadataValue.md(outcome.markdown),
                **usage_metadata(outcome.records),
                "duration_s": round(time.perf_counter() - started, 3),
            },
        )
    rejected = {name: o.error for name, o in outcomes.items() if name in selected and o.error}
    if rejected:
        listed = "; ".join(f"{name}: {error}" for name, error in rejected.items())
        raise dg.Failure(
            description=f"{len(rejected)} agent output(s) rejected and not written (the others were): {listed}",
            allow_retries=False,
        )


agent_assets = [agent_outputs]
