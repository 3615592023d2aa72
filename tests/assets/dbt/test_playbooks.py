"""The monthly playbooks run in-process on a copy of the built +Pet warehouse (DuckDB, offline agents).

The dbt refresh ops run dbt for real; Slack and Notion are dry runs, so every message is an outbox row.
The copy (without the agents', outbox and consent schemas other tests may have written) keeps these runs'
writes away from the other tests of the session, and theirs away from these.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from orchestration.approvals import approve
from orchestration.automation.playbooks import (
    ChurnAnalysisConfig,
    MonthlyDreConfig,
    ReactivationConfig,
    churn_analysis,
    monthly_dre,
    playbook_run_config,
    reactivation_campaign,
)
from orchestration.outbound.outbox import Outbox
from orchestration.resources import (
    LlmResource,
    OutboundResource,
    ReportsResource,
    WarehouseResource,
    dbt_cli_resource,
)
from orchestration.warehouse import Warehouse
from tests.assets.dbt.conftest import BuiltWarehouse, forecasts_on


@pytest.fixture(scope="module")
def playbook_world(duckdb_built: BuiltWarehouse, tmp_path_factory: pytest.TempPathFactory) -> BuiltWarehouse:
    """A copy of the DuckDB build with the forecasts and the projected DRE."""
    assert forecasts_on(duckdb_built, tmp_path_factory)[0].success
    source = Path(duckdb_built.url.removeprefix("duckdb:///"))
    target = tmp_path_factory.mktemp("playbooks") / "warehouse.duckdb"
    for suffix in ("", ".wal"):
        if Path(f"{source}{suffix}").exists():
            shutil.copyfile(f"{source}{suffix}", f"{target}{suffix}")
    copy = BuiltWarehouse(f"duckdb:///{target}", duckdb_built.world, duckdb_built.result)
    for schema in ("agents", "outbox", "consent"):  # what other tests of the session may have written
        copy.warehouse.execute(f"drop schema if exists {schema} cascade")
    return copy


@pytest.fixture(scope="module")
def outbox_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("outbox")


def resources(built: BuiltWarehouse, outbox_dir: Path) -> dict[str, Any]:
    return {
        "warehouse": WarehouseResource(url=built.url),
        "llm": LlmResource(provider="offline"),
        "reports": ReportsResource(output_dir=str(outbox_dir.parent / "reports")),
        "outbound": OutboundResource(files_dir=str(outbox_dir)),
        "dbt": dbt_cli_resource(),
    }


def run(job: dg.JobDefinition, name: str, config: dg.Config, built: BuiltWarehouse, outbox_dir: Path) -> Any:
    result = job.execute_in_process(
        run_config=playbook_run_config(name, config), resources=resources(built, outbox_dir), raise_on_error=False
    )
    failures = [e.step_failure_data.error.message for e in result.all_events if e.is_step_failure]  # type: ignore[union-attr]
    assert result.success, failures
    return result


def op_metadata(result: dg.ExecuteInProcessResult, op: str) -> dict[str, Any]:
    for event in result.all_events:
        if event.step_key == op and event.event_type == dg.DagsterEventType.STEP_OUTPUT:
            return {k: getattr(v, "value", v) for k, v in event.step_output_data.metadata.items()}  # type: ignore[union-attr]
    raise AssertionError(f"no output of {op}")


def materialized(result: dg.ExecuteInProcessResult) -> set[str]:
    return {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}


def outbox(built: BuiltWarehouse) -> list[dict[str, Any]]:
    return Outbox(Warehouse(built.url)).rows()


def report(built: BuiltWarehouse, asset: str) -> dict[str, Any]:
    rows = built.rows(
        f"select payload_json, markdown, dagster_run_id from agents.reports where asset = '{asset}' "
        "order by as_of_date desc limit 1"
    )
    assert rows, f"no {asset} in agents.reports"
    return {**rows[0], "payload": json.loads(rows[0]["payload_json"])}


def test_reactivation_drafts_a_campaign_and_asks_for_its_approval_without_messaging_anyone(
    playbook_world: BuiltWarehouse, outbox_dir: Path
) -> None:
    built = playbook_world
    result = run(reactivation_campaign, "reactivation_campaign", ReactivationConfig(), built, outbox_dir)
    meta = op_metadata(result, "draft_reactivation_campaign")
    campaign, version = meta["campaign_id"], meta["version"]
    drafts = built.rows(
        f"select version, status, segment, channel, audience_size, budget_brl from agents.campaign_drafts "
        f"where campaign_id = '{campaign}'"
    )
    assert drafts == [
        {
            "version": version,
            "status": "pending_approval",
            "segment": "inactive_60d",
            "channel": "whatsapp",
            "audience_size": meta["audience_size"],
            "budget_brl": 1000.0,
        }
    ]
    contactable = built.rows(
        "select sum(case when is_whatsapp_contactable then 1 else 0 end) as n from marts.dim_segments "
        "where segment = 'inactive_60d'"
    )[0]["n"]
    assert 0 < meta["audience_size"] <= contactable
    assert meta["note"] == ""  # 60 days is the segment

    rows = outbox(built)
    assert [(r["idempotency_key"], r["channel"], r["status"]) for r in rows] == [
        (f"approval-request:{campaign}:{version}", "slack", "dry_run")
    ]  # one Slack message, nothing to any customer
    text = json.loads(rows[0]["payload_json"])["text"]
    assert f"Campanha {campaign} aguardando aprovação: cro approve {campaign} --by NOME" in text
    assert (outbox_dir / "slack").is_dir() and not (outbox_dir / "whatsapp").exists()
    assert report(built, "playbook_reactivation_campaign")["dagster_run_id"] == result.run_id

    # again, asking for 90 days: the same draft (the marts' segment is inactive_60d), no second request
    again = run(reactivation_campaign, "reactivation_campaign", ReactivationConfig(inactive_days=90), built, outbox_dir)
    meta90 = op_metadata(again, "draft_reactivation_campaign")
    assert (meta90["campaign_id"], meta90["version"]) == (campaign, version)
    assert "inactive_60d" in meta90["note"] and "90" in meta90["note"]
    inactive_90 = built.rows(
        "select count(*) as n from marts.dim_segments where segment in ('inactive_60d', 'churned') "
        "and recency_days >= 90"
    )[0]["n"]
    assert meta90["customers_inactive_at_least_n_days"] == inactive_90 <= meta["customers_inactive_at_least_n_days"]
    assert len(built.rows(f"select * from agents.campaign_drafts where campaign_id = '{campaign}'")) == 1
    assert len(outbox(built)) == 1

    # once approved, a re-run asks nobody
    approve(Warehouse(built.url), campaign, approved_by="Ana", version=version)
    approved = run(reactivation_campaign, "reactivation_campaign", ReactivationConfig(), built, outbox_dir)
    assert op_metadata(approved, "draft_reactivation_campaign")["approval"] == f"already approved ({version})"
    assert len(outbox(built)) == 1


def test_monthly_dre_refreshes_the_dre_marts_reports_the_month_and_publishes_it(
    playbook_world: BuiltWarehouse, outbox_dir: Path
) -> None:
    built = playbook_world
    config = MonthlyDreConfig(month="2026-09", scenarios=["base", "optimistic"])
    result = run(monthly_dre, "monthly_dre", config, built, outbox_dir)
    assert {"marts/fct_dre_monthly", "marts/fct_dre_projected"} <= materialized(result)
    stored = report(built, "playbook_monthly_dre")
    assert stored["payload"]["period"] == "2026-09" and stored["dagster_run_id"] == result.run_id
    assert {s["scenario"] for s in stored["payload"]["scenarios"]} == {"base", "optimistic"}
    calls = built.rows(f"select agent, status from agents.agent_runs where dagster_run_id = '{result.run_id}'")
    assert calls and {c["agent"] for c in calls} == {"finance"} and all(c["status"] == "ok" for c in calls)

    notion = [r for r in outbox(built) if r["channel"] == "notion"]
    assert [r["idempotency_key"].rsplit(":", 1)[0] for r in notion] == ["notion:playbook_monthly_dre:2026-09"]
    assert notion[0]["status"] == "dry_run"
    assert json.loads(notion[0]["payload_json"])["markdown"] == stored["markdown"]
    assert any(r["channel"] == "slack" and r["source"].startswith("publish-slack:") for r in outbox(built))


def test_churn_analysis_refreshes_churn_marts_writes_research_and_plan_and_publishes(
    playbook_world: BuiltWarehouse, outbox_dir: Path
) -> None:
    built = playbook_world
    result = run(churn_analysis, "churn_analysis", ChurnAnalysisConfig(lookback_days=90), built, outbox_dir)
    assert {"marts/fct_churn_monthly", "marts/fct_cohort_retention"} <= materialized(result)
    stored = report(built, "playbook_churn_analysis")
    research, plan = stored["payload"]  # the Researcher's answer and the Planner's plan, in that order
    assert research["figures"] and plan["items"]
    assert stored["markdown"].startswith("# Análise de churn — últimos 90 dias")
    # 90 days → the last 3 complete months of marts.fct_churn_monthly
    months = built.rows("select month from marts.fct_churn_monthly where is_complete order by month desc limit 3")
    for month in months:
        assert f"{month['month']:%Y-%m}" in json.dumps(research, ensure_ascii=False)
    agents = {
        r["agent"] for r in built.rows(f"select agent from agents.agent_runs where dagster_run_id = '{result.run_id}'")
    }
    assert agents == {"researcher", "planner"}
    notion = [r["idempotency_key"] for r in outbox(built) if r["channel"] == "notion"]
    assert any(k.startswith("notion:playbook_churn_analysis:20") for k in notion)
