"""The `cro` command line as a person uses it: help everywhere, materialize with a summary, doctor."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from orchestration.cli import app

runner = CliRunner()
COMMANDS = ["demo-data", "materialize", "doctor", "dbt"]


@pytest.mark.parametrize("command", [[], *[[c] for c in COMMANDS]])
def test_help_everywhere(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def write_sheets(demo_dir: Path, spend_header: str = "spend_brl") -> None:
    sheets = demo_dir / "sheets"
    sheets.mkdir(parents=True, exist_ok=True)
    (sheets / "marketing_spend.csv").write_text(f"date,channel,campaign,{spend_header}\n2026-01-01,google_ads,c1,10\n")
    (sheets / "expenses.csv").write_text(
        "month,account,category,amount_brl\n2026-01,Aluguel,despesas_administrativas,1\n"
    )
    (sheets / "orders.csv").write_text("order_id,customer_id,order_date,amount_brl\no1,c1,2026-01-02,59.90\n")


def env_for(tmp_path: Path) -> dict[str, str]:
    return {
        "CRO_DATA_DIR": str(tmp_path / "data"),
        "CRO_DEMO_DIR": str(tmp_path / "data" / "demo"),
        "DAGSTER_HOME": str(tmp_path / "home"),
        "COLUMNS": "200",
    }


def test_demo_data_then_materialize_reports_rows_and_records_the_run(tmp_path: Path) -> None:
    env = env_for(tmp_path)
    args = ["demo-data", "--customers", "300", "--months", "8", "--end-month", "2026-10"]
    generated = runner.invoke(app, args, env=env)
    assert generated.exit_code == 0, generated.output
    assert "hubspot/deals.pages.jsonl" in generated.output
    again = runner.invoke(app, args, env=env)
    assert "same config" in again.output, "an identical world is not generated twice"

    result = runner.invoke(app, ["materialize", "group:ingestion"], env=env)
    assert result.exit_code == 0, result.output
    for asset in ("hubspot/contacts", "hubspot/deals", "sheets/marketing_spend", "sheets/expenses", "sheets/orders"):
        assert asset in result.output
    assert "not materialized" not in result.output
    assert (tmp_path / "data" / "warehouse.duckdb").exists()
    assert any((tmp_path / "home").iterdir()), "the run must be stored in DAGSTER_HOME so the UI shows it"

    doctor = runner.invoke(app, ["doctor"], env=env)
    assert doctor.exit_code == 0, doctor.output
    assert "SqliteRunStorage, 1 runs" in doctor.output


def test_materialize_failure_exits_non_zero_with_the_reason(tmp_path: Path) -> None:
    env = env_for(tmp_path)
    write_sheets(tmp_path / "data" / "demo", spend_header="valor_gasto")
    result = runner.invoke(app, ["materialize", "key:sheets/marketing_spend"], env=env)
    assert result.exit_code == 1
    assert "missing required column(s) ['spend_brl']" in result.output


def test_missing_demo_files_fail_fast_without_retries(tmp_path: Path) -> None:
    result = runner.invoke(app, ["materialize", "key:hubspot/contacts"], env=env_for(tmp_path))
    assert result.exit_code == 1
    assert "cro demo-data" in result.output


def test_materialize_unknown_selection_does_nothing(tmp_path: Path) -> None:
    result = runner.invoke(app, ["materialize", "group:does_not_exist"], env=env_for(tmp_path))
    assert result.exit_code == 0
    assert "nothing to do" in result.output


def test_doctor_fails_when_the_warehouse_is_unreachable(tmp_path: Path) -> None:
    env = env_for(tmp_path) | {"CRO_WAREHOUSE_URL": "postgresql://cro:hunter2@127.0.0.1:1/nowhere"}
    result = runner.invoke(app, ["doctor"], env=env)
    assert result.exit_code == 1
    assert "unreachable" in result.output and "hunter2" not in result.output


def test_dbt_needs_its_arguments() -> None:
    result = runner.invoke(app, ["dbt"])
    assert result.exit_code == 2
    assert "cro dbt -- build" in result.output


@pytest.mark.parametrize(
    ("given", "expected_tail"),
    [
        (["debug"], ["debug", "--profiles-dir", "<project>"]),
        (["debug", "--profiles-dir", "/elsewhere"], ["debug", "--profiles-dir", "/elsewhere"]),
        (["debug", "--profiles-dir=/elsewhere"], ["debug", "--profiles-dir=/elsewhere"]),
    ],
)
def test_dbt_uses_the_project_profiles_unless_told_otherwise(
    monkeypatch: pytest.MonkeyPatch, given: list[str], expected_tail: list[str]
) -> None:
    import subprocess

    from assets.dbt.project import DBT_PROJECT_DIR

    calls: list[list[str]] = []
    monkeypatch.setattr(subprocess, "run", lambda cmd, **_: calls.append(cmd) or subprocess.CompletedProcess(cmd, 3))
    result = runner.invoke(app, ["dbt", "--", *given])
    assert result.exit_code == 3  # dbt's own exit code
    assert calls[0][1:] == [str(DBT_PROJECT_DIR) if a == "<project>" else a for a in expected_tail]
