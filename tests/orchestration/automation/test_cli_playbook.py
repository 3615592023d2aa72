"""``cro run-playbook`` and the automations ``cro ask`` launches, as a person uses them.

The warehouse is a DuckDB file made by hand with the two marts ``sync_crm`` reads; runs are recorded
in the test's ``DAGSTER_HOME``, as they would be for the UI.
"""

from __future__ import annotations

import re
from pathlib import Path

import dagster as dg
import pytest
import typer
from typer.testing import CliRunner

from agents.automation import automation_request
from agents.providers import AgentSettings
from agents.runtime import AgentRuntime
from agents.schemas import AutomationParameter, AutomationRequest
from orchestration.cli.ask import PlannedRun, ask, planned_run
from orchestration.cli.playbook import PlaybookError, parse_params, playbook_config, run_playbook
from orchestration.outbound.outbox import Outbox
from orchestration.warehouse import Warehouse

runner = CliRunner()
RUN_ID = re.compile(r"run ([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})")


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    cli = typer.Typer()
    cli.command("run-playbook")(run_playbook)
    cli.command("ask")(ask)
    return cli


def env_for(tmp_path: Path) -> dict[str, str]:
    return {
        "CRO_DATA_DIR": str(tmp_path / "data"),
        "CRO_WAREHOUSE_URL": f"duckdb:///{tmp_path / 'wh.duckdb'}",
        "DAGSTER_HOME": str(tmp_path / "home"),
        "CRO_OUTBOUND": "dry_run",
        "COLUMNS": "200",
    }


def hand_made_marts(tmp_path: Path) -> Warehouse:
    store = Warehouse(f"duckdb:///{tmp_path / 'wh.duckdb'}")
    store.execute("create schema if not exists marts")
    store.execute("create table marts.dim_customers (customer_id varchar, revenue_to_date_brl double)")
    store.execute("create table marts.dim_segments (customer_id varchar, segment varchar)")
    store.execute("insert into marts.dim_customers values ('101', 59.9), ('102', 1200.0), ('103', 0)")
    store.execute("insert into marts.dim_segments values ('101', 'new'), ('102', 'vip'), ('103', 'inactive_60d')")
    return store


def runs(tmp_path: Path) -> list[dg.DagsterRun]:
    home = tmp_path / "home"
    if not home.exists():
        return []
    with dg.DagsterInstance.from_config(str(home)) as instance:
        return list(instance.get_runs())


# -- cro run-playbook -----------------------------------------------------------------------------------


def test_list_shows_every_playbook_with_its_parameters_and_defaults(app: typer.Typer, tmp_path: Path) -> None:
    result = runner.invoke(app, ["run-playbook", "--list"], env=env_for(tmp_path))
    assert result.exit_code == 0, result.output
    for expected in (
        "churn_analysis",
        "--param lookback_days=… (int, default 90)",
        "monthly_dre",
        "--param month=…",
        "default conservative,base,optimistic",
        "reactivation_campaign",
        "--param inactive_days=… (int, default 60)",
        "--param budget_brl=… (float, default 1000.0)",
        "--param channel=… (str, default whatsapp)",
    ):
        assert expected in result.output, expected
    assert not runs(tmp_path)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["churn_analysis", "--param", "lookback_days=noventa"], "lookback_days: Input should be a valid integer"),
        (["churn_analysis", "--param", "lookback_days=0"], "lookback_days: Input should be greater than or equal to 1"),
        (["monthly_dre", "--param", "month=2026-13"], "month must be YYYY-MM"),
        (["monthly_dre", "-p", "scenarios=base,pessimistic"], "scenarios must be one or more of"),
        (["reactivation_campaign", "--param", "channel=sms"], "channel must be whatsapp or email"),
        (
            ["churn_analysis", "--param", "days=90"],
            "churn_analysis has no parameter 'days'; its parameters: lookback_days",
        ),
        (["churn_analysis", "--param", "lookback_days"], "expected key=value"),
        (["weekly_magic"], "no playbook 'weekly_magic'"),
    ],
)
def test_a_bad_playbook_or_parameter_is_refused_before_anything_runs(
    app: typer.Typer, tmp_path: Path, args: list[str], message: str
) -> None:
    result = runner.invoke(app, ["run-playbook", *args], env=env_for(tmp_path))
    assert result.exit_code == 2
    assert message in " ".join(result.output.split()), result.output
    assert not runs(tmp_path)


def test_parameters_are_typed_by_the_playbook_config() -> None:
    config = playbook_config("monthly_dre", parse_params(["month=2026-09", 'scenarios=["base"]']))
    assert (config.month, config.scenarios) == ("2026-09", ["base"])  # type: ignore[attr-defined]
    assert playbook_config("monthly_dre", {"month": "none"}).month is None  # type: ignore[attr-defined]
    reactivation = playbook_config("reactivation_campaign", {"inactive_days": "90", "budget_brl": "500.50"})
    assert (reactivation.inactive_days, reactivation.budget_brl) == (90, 500.5)  # type: ignore[attr-defined]
    with pytest.raises(PlaybookError):
        playbook_config("churn_analysis", {"lookback_days": "1.5"})


# -- cro ask → a job ------------------------------------------------------------------------------------


def offline_request(text: str) -> PlannedRun | str:
    runtime = AgentRuntime.from_settings(AgentSettings(provider="offline"))
    return planned_run(automation_request(runtime, request=text))


def test_the_three_automation_requests_map_to_their_jobs() -> None:
    churn = offline_request("Execute o playbook de análise de churn dos últimos 90 dias")
    assert isinstance(churn, PlannedRun)
    assert (churn.job, churn.playbook, churn.params) == ("churn_analysis", "churn_analysis", {"lookback_days": "90"})
    notion = offline_request("Exporte relatório de campanhas para o Notion")
    assert isinstance(notion, PlannedRun)
    assert (notion.job, notion.op_config) == ("publish_reports", {"assets": ["campaign_drafts"], "forecasts": False})
    crm = offline_request("Sincronize contatos com o HubSpot")
    assert isinstance(crm, PlannedRun) and (crm.job, crm.op_config) == ("sync_crm", {})
    dre = offline_request("Rode o playbook do DRE de 2026-09")
    assert isinstance(dre, PlannedRun) and (dre.playbook, dre.params) == ("monthly_dre", {"month": "2026-09"})
    winback = offline_request("Execute o playbook de reativação de inativos há 90 dias com orçamento de R$ 500")
    assert isinstance(winback, PlannedRun) and winback.playbook == "reactivation_campaign"
    assert winback.params == {"inactive_days": "90", "channel": "whatsapp", "budget_brl": "500.00"}
    assert playbook_config("reactivation_campaign", winback.params).budget_brl == 500.0  # type: ignore[attr-defined]
    send = AutomationRequest(
        action="send_campaign",
        source="inactive_60d_whatsapp_20261201",
        parameters=[AutomationParameter(name="campaign_id", value="inactive_60d_whatsapp_20261201")],
        idempotency_key="send_campaign:inactive_60d_whatsapp_20261201:0",
    )
    refused = planned_run(send)  # never from cro ask: only after an approval
    assert isinstance(refused, str) and "cro approve inactive_60d_whatsapp_20261201 --by NOME" in refused


def test_ask_no_run_shows_the_automation_and_how_to_run_it(app: typer.Typer, tmp_path: Path) -> None:
    hand_made_marts(tmp_path)
    text = "Execute o playbook de análise de churn dos últimos 90 dias"
    result = runner.invoke(app, ["ask", "--no-run", text], env=env_for(tmp_path))
    assert result.exit_code == 0, result.output
    assert "run_playbook → job churn_analysis (--param lookback_days=90)" in result.output
    assert (
        "Not launched (--no-run). To run it: cro run-playbook churn_analysis --param lookback_days=90" in result.output
    )
    assert not runs(tmp_path)


def test_ask_to_sync_hubspot_launches_sync_crm_in_dry_run_and_prints_the_run(app: typer.Typer, tmp_path: Path) -> None:
    store = hand_made_marts(tmp_path)
    result = runner.invoke(app, ["ask", "Sincronize contatos com o HubSpot"], env=env_for(tmp_path))
    assert result.exit_code == 0, result.output
    assert "sync_hubspot → job sync_crm" in result.output
    run_id = RUN_ID.search(result.output).group(1)  # type: ignore[union-attr]
    assert f"http://127.0.0.1:3000/runs/{run_id}" in result.output and "sync_crm succeeded" in result.output
    recorded = runs(tmp_path)
    assert [(r.run_id, r.job_name, r.status) for r in recorded] == [(run_id, "sync_crm", dg.DagsterRunStatus.SUCCESS)]
    written = Outbox(store).rows()
    assert sorted(r["recipient"] for r in written) == ["101", "102", "103"]
    assert {r["status"] for r in written} == {"dry_run"} and {r["run_id"] for r in written} == {run_id}


def test_a_failed_playbook_run_exits_1_with_the_reason_and_stays_in_the_ui(app: typer.Typer, tmp_path: Path) -> None:
    hand_made_marts(tmp_path)  # no marts.fct_campaign_results: the reactivation playbook cannot draft
    result = runner.invoke(
        app, ["run-playbook", "reactivation_campaign", "-p", "budget_brl=500"], env=env_for(tmp_path)
    )
    assert result.exit_code == 1, result.output
    output = " ".join(result.output.split())
    assert "draft_reactivation_campaign: marts fct_campaign_results not found in the warehouse" in output
    assert "dagster._core" not in output
    run_id = RUN_ID.search(result.output).group(1)  # type: ignore[union-attr]
    assert f"http://127.0.0.1:3000/runs/{run_id}" in result.output
    recorded = runs(tmp_path)
    assert [(r.run_id, r.job_name, r.status) for r in recorded] == [
        (run_id, "reactivation_campaign", dg.DagsterRunStatus.FAILURE)
    ]
    assert recorded[0].run_config["ops"]["draft_reactivation_campaign"]["config"]["budget_brl"] == 500.0
    assert recorded[0].tags["cro/playbook"] == "reactivation_campaign"


def test_ask_to_publish_with_nothing_to_publish_exits_1_with_the_reason(app: typer.Typer, tmp_path: Path) -> None:
    hand_made_marts(tmp_path)
    result = runner.invoke(app, ["ask", "Exporte relatório de campanhas para o Notion"], env=env_for(tmp_path))
    assert result.exit_code == 1, result.output
    assert "create_notion_page → job publish_reports" in result.output
    assert "Nothing to publish" in result.output
    assert [r.job_name for r in runs(tmp_path)] == ["publish_reports"]
