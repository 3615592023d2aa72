"""The monthly playbooks: op jobs with typed run config (launchpad, schedule, ``cro run-playbook``, ``cro ask``).

================================ =================================================================================
playbook (job)                   steps
================================ =================================================================================
``churn_analysis``               ``refresh_churn_marts`` (``dbt build --select +fct_churn_monthly
                                 +fct_cohort_retention``) → ``analyse_churn`` (Researcher: churn by cohort over
                                 ``lookback_days``; Planner: the retention plan) → ``publish_churn_analysis``
                                 (Notion page per month, Slack summary). Launched by the churn alert sensor.
``monthly_dre``                  ``refresh_dre_marts`` (``+fct_dre_monthly fct_dre_projected``, on the stored
                                 forecasts) → ``report_monthly_dre`` (Finance: the month's DRE and scenarios) →
                                 ``publish_monthly_dre``. Scheduled day 1 at 07:00 São Paulo.
``reactivation_campaign``        ``draft_reactivation_campaign``: CampaignBuilder drafts a win-back campaign for
                                 ``inactive_60d`` into ``agents.campaign_drafts`` (pending approval) and asks for
                                 the approval on Slack. Nothing is sent to customers.
================================ =================================================================================

Each playbook's options are its config class (:data:`PLAYBOOKS`), on the op :data:`CONFIG_OPS` names:
``{"ops": {"analyse_churn": {"config": {"lookback_days": 90}}}}`` (:func:`playbook_run_config`).

The reports land in ``agents.reports`` (assets ``playbook_churn_analysis``, ``playbook_monthly_dre``,
``playbook_reactivation_campaign``: one row per day, history kept), every agent call in ``agents.agent_runs``,
the markdown in ``<reports>/agents/playbooks/<playbook>.md``. On DuckDB the agents read through a read-only
``SqlTool`` session that is closed before the op writes through the warehouse (one writer per file).

**Reactivation and the inactivity window.** The marts have one lapsed-customer segment, ``inactive_60d``
(``marts.dim_segments``: not active, no paid order for ≥ 60 days), and the send path picks its audience by
segment. ``inactive_days`` other than 60 therefore still drafts for ``inactive_60d``: the run says so (log,
metadata ``note``, the Slack message) and reports how many lapsed customers are ≥ ``inactive_days`` days
without an order (metadata ``customers_inactive_at_least_n_days``).
"""

# no `from __future__ import annotations`: Dagster inspects the `context` annotation at runtime

import datetime as dt
import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import dagster as dg
from dagster import OpExecutionContext
from pydantic import Field, field_validator

from orchestration.automation.publish_job import PublishConfig, publish
from orchestration.resources import LlmResource, OutboundResource, ReportsResource, WarehouseResource

SAO_PAULO = "America/Sao_Paulo"
SCHEMA = "agents"
SCENARIOS = ("conservative", "base", "optimistic")
REACTIVATION_SEGMENT = "inactive_60d"
REACTIVATION_SEGMENT_DAYS = 60
SLACK_DEFAULT_CHANNEL = "#cro"
TAGS = {"cro/kind": "playbook"}
_MONTH = re.compile(r"^(20\d\d)-(0[1-9]|1[0-2])$")


# -- run config ---------------------------------------------------------------------------------------


class ChurnAnalysisConfig(dg.Config):
    """Launchpad options of the churn analysis."""

    lookback_days: int = Field(default=90, ge=1, le=3650, description="Days of churn to analyse (by cohort).")


class MonthlyDreConfig(dg.Config):
    """Launchpad options of the monthly DRE."""

    month: str | None = Field(default=None, description="YYYY-MM; default the last complete month in the marts.")
    scenarios: list[str] = Field(
        default_factory=lambda: list(SCENARIOS), description="Any of conservative, base, optimistic."
    )

    @field_validator("month")
    @classmethod
    def _month(cls, value: str | None) -> str | None:
        if value is not None and not _MONTH.match(value.strip()):
            raise ValueError(f"month must be YYYY-MM (e.g. 2026-09), got {value!r}")
        return value.strip() if value else None

    @field_validator("scenarios")
    @classmethod
    def _scenarios(cls, value: list[str]) -> list[str]:
        unknown = [s for s in value if s not in SCENARIOS]
        if unknown or not value:
            raise ValueError(f"scenarios must be one or more of {', '.join(SCENARIOS)}; got {value}")
        return value


class ReactivationConfig(dg.Config):
    """Launchpad options of the reactivation campaign (a draft pending approval; nothing is sent)."""

    inactive_days: int = Field(
        default=60, ge=1, description="Days without an order; the marts' segment is inactive_60d (see the module)."
    )
    budget_brl: float = Field(default=1000.0, gt=0, description="The campaign's budget cap (BRL).")
    channel: str = Field(default="whatsapp", description="whatsapp or email.")

    @field_validator("channel")
    @classmethod
    def _channel(cls, value: str) -> str:
        if value not in ("whatsapp", "email"):
            raise ValueError(f"channel must be whatsapp or email, got {value!r}")
        return value


# -- shared steps -------------------------------------------------------------------------------------


def _today() -> dt.date:
    from zoneinfo import ZoneInfo

    return dt.datetime.now(ZoneInfo(SAO_PAULO)).date()


def _runtime(llm: LlmResource) -> Any:
    try:
        return llm.runtime()
    except ValueError as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from exc


def _require_marts(store: Any, *tables: str) -> None:
    missing = [t for t in tables if not store.table_exists("marts", t)]
    if missing:
        raise dg.Failure(
            description=f"marts {', '.join(missing)} not found in the warehouse: materialize the dbt models first "
            "(`cro materialize '*'`).",
            allow_retries=False,
        )


def _agents(work: Callable[[], Any]) -> Any:
    """Run agent calls; a guardrail rejection or a request the data cannot serve fails the step, no retry."""
    from agents.runtime import GuardrailViolation

    try:
        return work()
    except GuardrailViolation as exc:
        raise dg.Failure(
            description=f"the agent's output was rejected by the guardrails, nothing written: {exc}",
            allow_retries=False,
        ) from exc
    except ValueError as exc:
        raise dg.Failure(description=f"{type(exc).__name__}: {exc}", allow_retries=False) from exc


def _usage(runtime: Any) -> dict[str, Any]:
    from assets.agents.tables import usage_metadata

    return {"provider": f"{runtime.provider.name}/{runtime.provider.model}", **usage_metadata(runtime.rows())}


def write_report(
    store: Any,
    asset: str,
    outputs: list[Any],
    markdown: str,
    *,
    runtime: Any,
    run_id: str,
    as_of: dt.date,
    extra: Callable[[Any], None] | None = None,
) -> None:
    """The report row (``agents.reports``), the agent calls (``agents.agent_runs``), and ``extra`` writes, at once."""
    from assets.agents import tables

    now = dt.datetime.now(dt.UTC)
    row = tables.report_row(asset, outputs, markdown, as_of=as_of, run_id=run_id, now=now)
    runs = [{**r.as_row(), "asset": asset, "dagster_run_id": run_id} for r in runtime.records]
    with store.session():
        if extra is not None:
            extra(store)
        tables.write_reports(store, [row], runs)


def _markdown_file(reports: ReportsResource, playbook: str, markdown: str) -> str:
    path = reports.path("agents", "playbooks", f"{playbook}.md")
    path.write_text(markdown, encoding="utf-8")
    return str(path)


def _report_metadata(
    reports: ReportsResource, playbook: str, markdown: str, runtime: Any, started: float
) -> dict[str, Any]:
    """What every playbook's report shows in the UI: the markdown (file and preview), agent usage and duration."""
    return {
        "markdown": dg.MetadataValue.path(_markdown_file(reports, playbook, markdown)),
        "preview": dg.MetadataValue.md(markdown),
        **_usage(runtime),
        "duration_s": round(time.perf_counter() - started, 3),
    }


def dbt_refresh_op(name: str, select: str, *, needs_forecasts: bool = False) -> dg.OpDefinition:
    """An op that runs ``dbt build --select <select>`` (models, seeds and tests upstream included).

    The models' materializations and test results are logged as the dbt assets' events, so the marts show as
    refreshed in the UI (and the churn alert sensor sees ``marts/fct_churn_monthly``).
    """

    @dg.op(
        name=name,
        out=dg.Out(dg.Nothing),
        # dbt: DbtCliResource, imported only when the op runs (keeps loading this module fast)
        required_resource_keys={"dbt", "warehouse"},
        description=f"dbt build --select {select} (upstream models, seeds and tests included).",
    )
    def _refresh(context: OpExecutionContext) -> Iterator[Any]:
        from assets.dbt.environment import warehouse_environment
        from assets.dbt.models import CroDbtTranslator
        from assets.dbt.project import DBT_BUILD_ARGS, dbt_project

        started = time.perf_counter()
        warehouse: WarehouseResource = context.resources.warehouse
        if needs_forecasts and not warehouse.get().table_exists("forecasts", "revenue"):
            raise dg.Failure(
                description="forecasts.revenue not found: the projected DRE needs the forecasts. Materialize them "
                "first (`cro materialize 'group:forecasting'`).",
                allow_retries=False,
            )
        args = [*DBT_BUILD_ARGS, "--select", select]
        with warehouse_environment(warehouse.url):
            invocation = context.resources.dbt.cli(
                args,
                manifest=dbt_project.manifest_path,
                dagster_dbt_translator=CroDbtTranslator(),
                raise_on_error=False,
            )
            events = list(invocation.stream())
        materialized = 0
        for event in events:
            materialized += isinstance(event, dg.AssetMaterialization)
            yield event
        if not invocation.is_successful():
            raise dg.Failure(
                description=f"dbt build --select {select} failed: see the failed models and tests above "
                f"(run_results.json in {invocation.target_path}).",
                allow_retries=False,
            )
        yield dg.Output(
            None,
            metadata={"select": select, "models": materialized, "duration_s": round(time.perf_counter() - started, 3)},
        )

    return _refresh


def publish_op(name: str, asset: str) -> dg.OpDefinition:
    """An op that publishes the newest ``agents.reports`` row of ``asset`` (Notion page + Slack summary)."""

    @dg.op(
        name=name,
        ins={"after": dg.In(dg.Nothing)},
        out=dg.Out(dg.Nothing),
        retry_policy=dg.RetryPolicy(max_retries=2, delay=30, backoff=dg.Backoff.EXPONENTIAL),
        description=f"Publish {asset} to Notion (one page per month, updated in place) and a summary to Slack, "
        "through the outbox (dry run unless live).",
    )
    def _publish(
        context: OpExecutionContext, warehouse: WarehouseResource, outbound: OutboundResource, reports: ReportsResource
    ) -> dg.Output:
        config = PublishConfig(assets=[asset], forecasts=False, slack_summary=True)
        metadata = publish(warehouse.get(), outbound, config, reports_dir=reports.output_dir, run_id=context.run_id)
        return dg.Output(None, metadata=metadata)

    return _publish


# -- churn_analysis -----------------------------------------------------------------------------------


def churn_requests(lookback_days: int) -> tuple[str, str]:
    """The Researcher's and the Planner's requests (pt-BR, as an operator would ask)."""
    return (
        f"Analise o churn dos últimos {lookback_days} dias por coorte",
        f"Plano de retenção a partir do churn dos últimos {lookback_days} dias",
    )


@dg.op(
    name="analyse_churn",
    ins={"after": dg.In(dg.Nothing)},
    out=dg.Out(dg.Nothing),
    description="Researcher: churn by cohort over lookback_days; Planner: the retention plan. Written to "
    "agents.reports (playbook_churn_analysis).",
)
def churn_analysis_op(
    context: OpExecutionContext,
    config: ChurnAnalysisConfig,
    warehouse: WarehouseResource,
    llm: LlmResource,
    reports: ReportsResource,
) -> dg.Output:
    from agents.planner import plan_retention
    from agents.render import to_markdown
    from agents.researcher import research
    from agents.router import route_offline
    from agents.sql_tool import SqlTool

    started = time.perf_counter()
    store = warehouse.get()
    _require_marts(store, "fct_churn_monthly", "fct_mrr_movements", "dim_segments")
    runtime = _runtime(llm)
    ask, plan_request = churn_requests(config.lookback_days)
    decision = route_offline(ask).model_copy(update={"lookback_days": config.lookback_days, "lookback_months": None})
    sql = SqlTool(warehouse.url)

    def work() -> tuple[Any, Any]:
        with sql.session():  # read-only; closed before the writes below
            answer = research(ask, runtime, sql, decision=decision)
            plan = plan_retention(runtime, sql, request=plan_request, decision=route_offline(plan_request))
        return answer, plan

    answer, plan = _agents(work)
    markdown = (
        f"# Análise de churn — últimos {config.lookback_days} dias\n\n{to_markdown(answer)}\n\n{to_markdown(plan)}"
    )
    asset = "playbook_churn_analysis"
    write_report(store, asset, [answer, plan], markdown, runtime=runtime, run_id=context.run_id, as_of=_today())
    return dg.Output(
        None,
        metadata={
            "report": asset,
            "lookback_days": config.lookback_days,
            "retention_items": len(plan.items),
            **_report_metadata(reports, "churn_analysis", markdown, runtime, started),
        },
    )


refresh_churn_marts = dbt_refresh_op("refresh_churn_marts", "+fct_churn_monthly +fct_cohort_retention")
publish_churn_analysis = publish_op("publish_churn_analysis", "playbook_churn_analysis")


@dg.job(
    name="churn_analysis",
    description="Playbook: refresh the churn and cohort marts, Researcher + Planner on the last lookback_days, "
    "publish to Notion and Slack. Launched by the churn alert sensor; also from the launchpad.",
    tags=TAGS,
)
def churn_analysis() -> None:
    publish_churn_analysis(churn_analysis_op(refresh_churn_marts()))


# -- monthly_dre --------------------------------------------------------------------------------------


@dg.op(
    name="report_monthly_dre",
    ins={"after": dg.In(dg.Nothing)},
    out=dg.Out(dg.Nothing),
    description="Finance: the month's DRE commented, with the chosen scenarios. Written to agents.reports "
    "(playbook_monthly_dre).",
)
def monthly_dre_op(
    context: OpExecutionContext,
    config: MonthlyDreConfig,
    warehouse: WarehouseResource,
    llm: LlmResource,
    reports: ReportsResource,
) -> dg.Output:
    from agents.finance import report_finance
    from agents.render import to_markdown
    from agents.router import route_offline
    from agents.sql_tool import SqlTool

    started = time.perf_counter()
    store = warehouse.get()
    _require_marts(store, "fct_dre_monthly", "fct_dre_projected", "fct_unit_economics")
    runtime = _runtime(llm)
    month = dt.date(int(config.month[:4]), int(config.month[5:7]), 1) if config.month else None
    request = f"DRE de {config.month} com cenários" if config.month else "DRE do último mês completo com cenários"
    sql = SqlTool(warehouse.url)

    def work() -> Any:
        with sql.session():
            return report_finance(
                runtime, sql, month=month, scenarios=config.scenarios, request=request, decision=route_offline(request)
            )

    report = _agents(work)
    markdown = to_markdown(report)
    asset = "playbook_monthly_dre"
    write_report(store, asset, [report], markdown, runtime=runtime, run_id=context.run_id, as_of=_today())
    return dg.Output(
        None,
        metadata={
            "report": asset,
            "period": report.period,
            "scenarios": dg.MetadataValue.json([s.scenario for s in report.scenarios]),
            **_report_metadata(reports, "monthly_dre", markdown, runtime, started),
        },
    )


refresh_dre_marts = dbt_refresh_op("refresh_dre_marts", "+fct_dre_monthly fct_dre_projected", needs_forecasts=True)
publish_monthly_dre = publish_op("publish_monthly_dre", "playbook_monthly_dre")


@dg.job(
    name="monthly_dre",
    description="Playbook: refresh the DRE marts (projection on the stored forecasts), Finance's DRE of the month "
    "(default the last complete one) with scenarios, publish to Notion and Slack. Scheduled day 1 at 07:00.",
    tags=TAGS,
)
def monthly_dre() -> None:
    publish_monthly_dre(monthly_dre_op(refresh_dre_marts()))


# -- reactivation_campaign ----------------------------------------------------------------------------


def approval_text(draft: Any, version: str, notes: list[str]) -> str:
    """The Slack message asking for the approval of one draft version."""
    lines = [
        f"*Campanha {draft.campaign_id} aguardando aprovação: cro approve {draft.campaign_id} --by NOME*",
        f"versão {version} · segmento {draft.segment} · {draft.channel} · público {draft.audience_size} · "
        f"orçamento R$ {draft.budget_brl:,.2f} · envio {draft.schedule:%Y-%m-%d %H:%M}",
        "Nada é enviado aos clientes antes da aprovação.",
    ]
    return "\n".join([*lines, *notes])


def request_approval(
    store: Any, outbound: OutboundResource, draft: Any, version: str, notes: list[str], run_id: str
) -> Any:
    """One Slack message per draft version through the outbox (key ``approval-request:<campaign>:<version>``)."""
    from pathlib import Path

    from integrations.outbound import OutboundMessage
    from orchestration.outbound.outbox import Outbox

    key = f"approval-request:{draft.campaign_id}:{version}"
    outbox = Outbox(store, files_dir=Path(outbound.files_dir))
    message = OutboundMessage(
        idempotency_key=key,
        channel="slack",
        recipient=outbound.slack_channel or SLACK_DEFAULT_CHANNEL,
        payload={"text": approval_text(draft, version, notes)},
    )
    outbox.enqueue([message], source=key, run_id=run_id)
    return outbox.deliver(outbound.sender("slack"), source=key, run_id=run_id)


def reactivation_request(config: ReactivationConfig) -> str:
    channel = "e-mail" if config.channel == "email" else "WhatsApp"
    return (
        f"Campanha de reativação por {channel} para clientes inativos há {config.inactive_days} dias "
        f"com orçamento de R$ {config.budget_brl:.2f}"
    )


@dg.op(
    name="draft_reactivation_campaign",
    out=dg.Out(dg.Nothing),
    description="CampaignBuilder: a win-back draft for inactive_60d into agents.campaign_drafts (pending approval) "
    "and an approval request on Slack. Nothing is sent to customers.",
)
def reactivation_campaign_op(
    context: OpExecutionContext,
    config: ReactivationConfig,
    warehouse: WarehouseResource,
    llm: LlmResource,
    outbound: OutboundResource,
    reports: ReportsResource,
) -> dg.Output:
    from agents.campaigns import build_campaign
    from agents.guardrails import MartFacts
    from agents.render import to_markdown
    from agents.router import route_offline
    from agents.sql_tool import SqlTool
    from assets.agents import tables
    from orchestration.approvals import approvals

    started = time.perf_counter()
    store = warehouse.get()
    _require_marts(store, "dim_segments", "dim_customers", "fct_campaign_results")
    runtime = _runtime(llm)
    notes: list[str] = []
    if config.inactive_days != REACTIVATION_SEGMENT_DAYS:
        notes.append(
            f"Obs.: o único segmento de inativos nas marts é {REACTIVATION_SEGMENT} (sem pedido há ≥ "
            f"{REACTIVATION_SEGMENT_DAYS} dias); a campanha usa esse segmento, não {config.inactive_days} dias."
        )
        context.log.warning(
            f"inactive_days={config.inactive_days}: only the {REACTIVATION_SEGMENT_DAYS}-day segment exists in the "
            f"marts ({REACTIVATION_SEGMENT}); drafting for it"
        )
    request = reactivation_request(config)
    channel = "email" if config.channel == "email" else "whatsapp"
    sql = SqlTool(warehouse.url)

    def work() -> tuple[Any, int, bool]:
        with sql.session():
            inactive = int(
                sql.scalar(
                    "select count(*) from marts.dim_segments where segment in ('inactive_60d', 'churned') "
                    f"and recency_days >= {int(config.inactive_days)}"
                )
                or 0
            )
            if REACTIVATION_SEGMENT not in MartFacts.load(sql).segments:
                return None, inactive, False
            draft = build_campaign(
                runtime,
                sql,
                segment=REACTIVATION_SEGMENT,
                budget_brl=config.budget_brl,
                channel=channel,
                request=request,
                decision=route_offline(request),
            )
        return draft, inactive, True

    draft, inactive, has_segment = _agents(work)
    base = {
        "segment": REACTIVATION_SEGMENT,
        "inactive_days": config.inactive_days,
        "customers_inactive_at_least_n_days": inactive,
        "note": " ".join(notes) or "",
    }
    if draft is None or draft.audience_size == 0:
        why = "has no customers today" if not has_segment else f"has nobody reachable on {channel}"
        context.log.warning(f"segment {REACTIVATION_SEGMENT} {why}: no draft, no approval request")
        return dg.Output(None, metadata={**base, "draft": f"none: {REACTIVATION_SEGMENT} {why}", **_usage(runtime)})

    version = tables.campaign_version(draft)
    now = dt.datetime.now(dt.UTC)
    markdown = "\n\n".join([*(f"> {n}" for n in notes), to_markdown(draft)])

    def save_draft(store: Any) -> None:
        drafts = tables.campaigns_table([draft], run_id=context.run_id, now=now)
        store.merge(SCHEMA, "campaign_drafts", drafts, ["campaign_id", "version"], keep_existing=True)

    write_report(
        store,
        "playbook_reactivation_campaign",
        [draft],
        markdown,
        runtime=runtime,
        run_id=context.run_id,
        as_of=_today(),
        extra=save_draft,
    )
    already = any(a.version == version for a in approvals(store, draft.campaign_id))
    delivery = None
    if already:
        context.log.info(f"{draft.campaign_id} version {version} is already approved: no approval request")
    else:
        delivery = request_approval(store, outbound, draft, version, notes, context.run_id)
        if delivery.failed_retryable:
            raise dg.Failure(description="the approval request could not be posted to Slack; a re-run retries it")
    return dg.Output(
        None,
        metadata={
            **base,
            "campaign_id": draft.campaign_id,
            "version": version,
            "channel": draft.channel,
            "audience_size": draft.audience_size,
            "budget_brl": draft.budget_brl,
            "approval": f"already approved ({version})" if already else f"cro approve {draft.campaign_id} --by NOME",
            "approval_request": dg.MetadataValue.json(vars(delivery) if delivery is not None else {}),
            **_report_metadata(reports, "reactivation_campaign", markdown, runtime, started),
        },
    )


@dg.job(
    name="reactivation_campaign",
    description="Playbook: a win-back campaign draft for inactive customers (pending approval) and an approval "
    "request on Slack. Nothing is sent to customers.",
    tags=TAGS,
)
def reactivation_campaign() -> None:
    reactivation_campaign_op()


# -- registry -----------------------------------------------------------------------------------------

#: playbook name → (job, config class).
PLAYBOOKS: dict[str, tuple[dg.JobDefinition, type[dg.Config]]] = {
    "churn_analysis": (churn_analysis, ChurnAnalysisConfig),
    "monthly_dre": (monthly_dre, MonthlyDreConfig),
    "reactivation_campaign": (reactivation_campaign, ReactivationConfig),
}
#: playbook name → the op that takes its config. (An op may not share its job's name: Dagster refuses a
#: code location where an op and a job's graph have one name.)
CONFIG_OPS = {
    "churn_analysis": "analyse_churn",
    "monthly_dre": "report_monthly_dre",
    "reactivation_campaign": "draft_reactivation_campaign",
}


def playbook_run_config(name: str, config: dg.Config | dict[str, Any]) -> dict[str, Any]:
    """The run config that launches playbook ``name`` with ``config``."""
    values = config if isinstance(config, dict) else {f: getattr(config, f) for f in type(config).model_fields}
    return {"ops": {CONFIG_OPS[name]: {"config": values}}}


monthly_dre_schedule = dg.ScheduleDefinition(
    name="monthly_dre_day1_0700",
    job=monthly_dre,
    cron_schedule="0 7 1 * *",
    execution_timezone=SAO_PAULO,
    description="Day 1 of every month at 07:00 São Paulo: the monthly DRE playbook for the month that just closed.",
    default_status=dg.DefaultScheduleStatus.STOPPED,
)


def playbook_jobs() -> list[dg.JobDefinition]:
    return [job for job, _ in PLAYBOOKS.values()]


def playbook_schedules() -> list[dg.ScheduleDefinition]:
    return [monthly_dre_schedule]


__all__ = [
    "CONFIG_OPS",
    "PLAYBOOKS",
    "ChurnAnalysisConfig",
    "MonthlyDreConfig",
    "ReactivationConfig",
    "churn_analysis",
    "monthly_dre",
    "monthly_dre_schedule",
    "playbook_jobs",
    "playbook_run_config",
    "playbook_schedules",
    "reactivation_campaign",
]
