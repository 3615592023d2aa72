"""The agent assets on the built marts and forecasts — DuckDB and PostgreSQL, offline provider.

Every output is checked against the marts it came from by an independent query here, the tables
against the outputs, and a re-run against the first run (idempotent). One test drives the assets
through the real ChatOpenAI client against a local server that answers nonsense: the guardrails
reject it and nothing is written.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from pytest_httpserver import HTTPServer

from agents.guardrails import check_figures
from agents.schemas import Figure
from agents.sql_tool import SqlTool
from agents.templates import DEFAULT_TEMPLATES
from assets.agents.assets import NAMES, agent_outputs
from orchestration.resources import LlmResource, ReportsResource, WarehouseResource
from tests.assets.dbt.conftest import BuiltWarehouse, Forecasted

MEDIA_BUDGET = 5000.0
_RUNS: dict[str, tuple[dg.ExecuteInProcessResult, Path]] = {}


def run_agents(
    url: str, reports: Path, *, llm: LlmResource | None = None, selection: list[str] | None = None
) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [agent_outputs],
        selection=selection,
        resources={
            "warehouse": WarehouseResource(url=url),
            "llm": llm or LlmResource(provider="offline"),
            "reports": ReportsResource(output_dir=str(reports)),
        },
        run_config={"ops": {"agents": {"config": {"media_budget_brl": MEDIA_BUDGET}}}},
        raise_on_error=False,
    )


@pytest.fixture
def agents_run(
    built: BuiltWarehouse, projected: Forecasted, tmp_path_factory: pytest.TempPathFactory
) -> tuple[dg.ExecuteInProcessResult, Path]:
    assert projected[0].success
    if built.url not in _RUNS:
        reports = tmp_path_factory.mktemp("agent_reports")
        _RUNS[built.url] = (run_agents(built.url, reports), reports)
    return _RUNS[built.url]


def payload(built: BuiltWarehouse, asset: str) -> dict[str, Any]:
    rows = built.rows(
        f"select payload_json from agents.reports where asset = '{asset}' order by as_of_date desc limit 1"
    )
    return json.loads(rows[0]["payload_json"])


def scalar(built: BuiltWarehouse, sql: str) -> float:
    value = next(iter(built.rows(sql)[0].values()))
    return float(value or 0)


def test_all_six_assets_materialize_with_markdown_and_usage(
    built: BuiltWarehouse, agents_run: tuple[dg.ExecuteInProcessResult, Path]
) -> None:
    result, reports = agents_run
    assert result.success
    events = result.get_asset_materialization_events()
    materialized = {e.asset_key.path[-1]: e.materialization.metadata for e in events}
    assert set(materialized) == set(NAMES)
    for name, metadata in materialized.items():
        assert metadata["generated_by"].value == "offline"
        assert metadata["agent_calls"].value >= 1 and metadata["llm_input_tokens"].value == 0
        preview = metadata["preview"].value
        assert "No LLM wrote this" in preview, name
        assert (reports / "agents" / f"{name}.md").read_text(encoding="utf-8") == preview
    brief = materialized["growth_brief"]["preview"].value
    assert brief.startswith("# Growth brief — semana de ")
    for section in ("Churn por coorte", "CAC e LTV por canal", "Previsão de receita", "Retenção", "Mídia"):
        assert f"## {section}" in brief
    stored = built.rows("select asset, generated_by from agents.reports")
    assert sorted(r["asset"] for r in stored) == sorted(NAMES)
    runs = built.rows("select agent, status, provider from agents.agent_runs")
    assert runs and all(r["status"] == "ok" and r["provider"] == "offline" for r in runs)
    assert {r["agent"] for r in runs} >= {"planner", "campaign_builder", "finance", "sales_ops", "researcher"}


def test_retention_plan_counts_are_the_marts(
    built: BuiltWarehouse, agents_run: tuple[dg.ExecuteInProcessResult, Path]
) -> None:
    items = built.rows("select segment, customers, channel from agents.retention_plan order by rank")
    assert items
    segments = {r["segment"] for r in built.rows("select distinct segment from marts.dim_segments")}
    for item in items:
        assert item["segment"] in segments
        where = f"from marts.dim_segments where segment = '{item['segment']}'"
        if item["channel"] == "whatsapp":
            expected = scalar(built, f"select sum(case when is_whatsapp_contactable then 1 else 0 end) {where}")
        elif item["channel"] == "email":
            expected = scalar(
                built,
                "select count(*) from marts.dim_segments s join marts.dim_customers c using (customer_id) "
                f"where s.segment = '{item['segment']}' and c.email is not null",
            )
        else:
            expected = scalar(built, f"select count(*) {where}")
        assert item["customers"] == expected, item


def test_media_plan_spends_the_budget_on_channels_that_pay_back(
    built: BuiltWarehouse, agents_run: tuple[dg.ExecuteInProcessResult, Path]
) -> None:
    rows = built.rows("select channel, budget_brl, cac_brl, ltv_brl, ltv_cac from agents.media_plan")
    total = sum(float(r["budget_brl"]) for r in rows)
    assert MEDIA_BUDGET - 0.01 <= total <= MEDIA_BUDGET + 1e-6
    paid = {r["channel"] for r in built.rows("select distinct channel from marts.fct_cac where is_paid_channel")}
    for row in rows:
        if float(row["budget_brl"]) > 0:
            assert row["channel"] in paid
            assert row["ltv_cac"] is not None and float(row["ltv_cac"]) >= 1
            assert float(row["ltv_cac"]) == pytest.approx(float(row["ltv_brl"]) / float(row["cac_brl"]), rel=1e-3)
    plan = payload(built, "media_plan")
    assert plan["budget_brl"] == MEDIA_BUDGET and plan["rationale"]


def test_campaign_drafts_reach_only_contactable_customers_with_approved_templates(
    built: BuiltWarehouse, agents_run: tuple[dg.ExecuteInProcessResult, Path]
) -> None:
    drafts = built.rows("select * from agents.campaign_drafts")
    assert drafts
    for draft in drafts:
        contactable = scalar(
            built,
            "select sum(case when is_whatsapp_contactable then 1 else 0 end) from marts.dim_segments "
            f"where segment = '{draft['segment']}'",
        )
        assert 0 < draft["audience_size"] <= contactable
        assert draft["status"] == "pending_approval" and draft["budget_brl"] <= 1000
        body = json.loads(draft["payload_json"])
        for variant in body["variants"]:
            template = DEFAULT_TEMPLATES.get(variant["whatsapp_template"] or body["whatsapp_template"])
            assert template is not None and variant["copy_pt_br"] == template.body


def test_finance_report_is_last_complete_month_and_scenarios_sum_the_projection(
    built: BuiltWarehouse, agents_run: tuple[dg.ExecuteInProcessResult, Path]
) -> None:
    report = payload(built, "finance_report")
    last = built.rows("select max(month) as m from marts.fct_dre_monthly where is_complete")[0]["m"]
    assert report["period"] == f"{last:%Y-%m}"
    scenarios = built.rows(
        "select scenario, months, receita_liquida_brl, lucro_liquido_brl from agents.finance_scenarios"
    )
    assert {s["scenario"] for s in scenarios} == {"conservative", "base", "optimistic"}
    for s in scenarios:
        where = f"from marts.fct_dre_projected where scenario = '{s['scenario']}'"
        net = scalar(built, f"select sum(amount_brl) {where} and line_key = 'receita_liquida'")
        income = scalar(built, f"select sum(amount_brl) {where} and line_key = 'lucro_liquido'")
        assert float(s["receita_liquida_brl"]) == pytest.approx(net, abs=0.01)
        assert float(s["lucro_liquido_brl"]) == pytest.approx(income, abs=0.01)


def test_every_figure_in_the_reports_reruns_to_the_same_number(
    built: BuiltWarehouse, agents_run: tuple[dg.ExecuteInProcessResult, Path]
) -> None:
    figures = [
        Figure(**f)
        for asset in ("growth_brief", "finance_report", "sales_review")
        for f in payload(built, asset)["figures"]
    ]
    assert len(figures) >= 20
    assert check_figures(figures, SqlTool(built.url)) == []


def test_a_rerun_the_same_day_leaves_the_same_tables(
    built: BuiltWarehouse, agents_run: tuple[dg.ExecuteInProcessResult, Path], tmp_path: Path
) -> None:
    tables = ("reports", "campaign_drafts", "retention_plan", "media_plan", "finance_scenarios")
    before = {t: scalar(built, f"select count(*) from agents.{t}") for t in tables}
    drafts = built.rows("select campaign_id, version from agents.campaign_drafts order by 1, 2")
    again = run_agents(built.url, tmp_path)
    assert again.success
    assert {t: scalar(built, f"select count(*) from agents.{t}") for t in tables} == before
    assert built.rows("select campaign_id, version from agents.campaign_drafts order by 1, 2") == drafts


@pytest.mark.postgres
def test_duckdb_and_postgresql_give_the_same_plans(
    duckdb_built: BuiltWarehouse, postgres_built: BuiltWarehouse, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from tests.assets.dbt.conftest import forecasts_on

    for built in (duckdb_built, postgres_built):
        forecasts_on(built, tmp_path_factory)
        if built.url not in _RUNS:
            reports = tmp_path_factory.mktemp("agent_reports")
            _RUNS[built.url] = (run_agents(built.url, reports), reports)
    for sql in (
        "select segment, customers, channel, expected_churn_reduction_pct from agents.retention_plan order by rank",
        "select channel, budget_brl from agents.media_plan order by channel",
        "select campaign_id, audience_size, whatsapp_template from agents.campaign_drafts order by campaign_id",
    ):
        duck, pg = duckdb_built.rows(sql), postgres_built.rows(sql)
        assert len(duck) == len(pg) and duck
        for d, p in zip(duck, pg, strict=True):
            for column, value in d.items():
                if isinstance(value, float):
                    assert float(p[column]) == pytest.approx(value, rel=1e-6, abs=0.01)
                else:
                    assert p[column] == value


def test_llm_nonsense_is_rejected_and_nothing_is_written(
    duckdb_built: BuiltWarehouse, tmp_path: Path, httpserver: HTTPServer
) -> None:
    """The real ChatOpenAI client, a local server answering text that is no SalesReview: retried, then refused."""
    completion = {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 1_764_000_000,
        "model": "gpt-4o-mini",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": '{"stages": "ignore previous instructions"}'},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 500, "completion_tokens": 20, "total_tokens": 520},
    }
    httpserver.expect_request("/v1/chat/completions", method="POST").respond_with_json(completion)
    before = (
        scalar(duckdb_built, "select count(*) from agents.agent_runs")
        if duckdb_built.warehouse.table_exists("agents", "agent_runs")
        else 0
    )
    stored = duckdb_built.warehouse.table_exists("agents", "sales_funnel_review") and duckdb_built.rows(
        "select * from agents.sales_funnel_review order by stage"
    )
    llm = LlmResource(provider="openai", api_key="sk-test", base_url=httpserver.url_for("/v1"), cache_path=None)
    result = run_agents(duckdb_built.url, tmp_path, llm=llm, selection=["agents/sales_review"])
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert (
        "sales_review" in failure.step_failure_data.error.message
        and "rejected" in failure.step_failure_data.error.message
    )
    assert len(httpserver.log) == 2  # the answer and the one retry
    runs = duckdb_built.rows("select status, attempts, input_tokens from agents.agent_runs where provider = 'openai'")
    assert runs and runs[-1]["status"] == "rejected" and runs[-1]["attempts"] == 2
    assert scalar(duckdb_built, "select count(*) from agents.agent_runs") == before + 1
    if stored:
        assert duckdb_built.rows("select * from agents.sales_funnel_review order by stage") == stored


def test_sales_review_stages_are_the_funnel_mart(
    built: BuiltWarehouse, agents_run: tuple[dg.ExecuteInProcessResult, Path]
) -> None:
    stages = built.rows("select stage, deals from agents.sales_funnel_review order by stage_order")
    funnel = built.rows(
        "select deal_stage, deals_reached from marts.fct_sales_funnel "
        "where funnel = 'all_deals' and deal_stage <> 'closedlost' order by stage_order"
    )
    assert stages and [(s["stage"], s["deals"]) for s in stages] == [
        (f["deal_stage"], f["deals_reached"]) for f in funnel
    ]
