"""`cro import orders`: an export lands in raw_sheets.orders, identical same-day orders included, idempotently."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from orchestration.cli import app
from orchestration.warehouse import Warehouse

runner = CliRunner()
GOOD = "".join(f"c{i},2026-01-{1 + i % 28:02d},{10 + i}.00,petiscos\n" for i in range(20))


def invoke(tmp_path: Path, content: str) -> tuple[int, str, Warehouse]:
    file = tmp_path / "export.csv"
    file.write_text(content)
    env = {"CRO_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "200"}
    result = runner.invoke(app, ["import", "orders", str(file)], env=env)
    return result.exit_code, result.output, Warehouse(f"duckdb:///{tmp_path / 'data' / 'warehouse.duckdb'}")


def test_identical_orders_on_one_day_are_all_kept_and_reimport_changes_nothing(tmp_path: Path) -> None:
    content = "customer_id,order_date,amount,plan\n" + "c1,2026-01-05,59.90,petiscos\n" * 3 + GOOD
    code, output, warehouse = invoke(tmp_path, content)
    assert code == 0, output
    assert "23 new" in output
    rows = warehouse.query("select count(*), count(distinct order_id) from raw_sheets.orders where customer_id = 'c1'")
    assert rows == [(4, 4)]  # three identical orders plus c1's row in GOOD

    code, output, _ = invoke(tmp_path, content)
    assert code == 0 and "0 new, 23 already present" in output
    assert warehouse.row_count("raw_sheets", "orders") == 23


def test_bad_rows_are_reported_and_quarantined(tmp_path: Path) -> None:
    content = "customer_id,order_date,amount\nc9,2026-02-30,10\nc9,2026-02-01,-5\n" + GOOD.replace(",petiscos", "")
    code, output, warehouse = invoke(tmp_path, content)
    assert code == 0, output
    assert "2 rejected" in output and "order_date: 1" in output and "amount_brl: 1" in output
    assert warehouse.row_count("raw_sheets", "orders__rejected") == 2


def test_missing_required_column_is_named(tmp_path: Path) -> None:
    code, output, _ = invoke(tmp_path, "customer,order_date,amount\nc1,2026-01-01,1\n")
    assert code == 1
    assert "['customer_id']" in output
