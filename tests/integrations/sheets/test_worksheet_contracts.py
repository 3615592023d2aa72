from __future__ import annotations

import pyarrow as pa
import pytest

from integrations.contracts import ContractError
from integrations.sheets import WORKSHEETS
from integrations.sheets.sources import table_from_values
from tests.integrations.validation import validate_table


def spend(rows: list[list[str]], header: list[str] | None = None) -> pa.Table:
    return table_from_values([header or ["date", "channel", "campaign", "spend_brl"], *rows], "marketing_spend")


def test_good_rows_are_typed() -> None:
    batch = validate_table(WORKSHEETS["marketing_spend"], spend([["2026-01-01", "google_ads", "c1", "10.50"]]))
    assert batch.rejected.num_rows == 0
    row = batch.good.to_pylist()[0]
    assert str(row["date"]) == "2026-01-01" and str(row["spend_brl"]) == "10.50"


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (["", "google_ads", "c1", "1"], "date: missing"),
        (["01/02/2026", "google_ads", "c1", "1"], "date: invalid date"),
        (["2026-01-01", "tiktok", "c1", "1"], "channel: unknown value"),
        (["2026-01-01", "google_ads", "c1", "R$ 12,50"], "spend_brl: invalid amount"),
        (["2026-01-01", "google_ads", "c1", "abc"], "spend_brl: invalid amount"),
        (["2026-01-01", "google_ads", "c1", "-3"], "spend_brl: negative"),
        (["2026-01-01", "google_ads", "c1", ""], "spend_brl: missing"),
    ],
)
def test_bad_rows_are_rejected_with_reason_and_raw_row(row: list[str], reason: str) -> None:
    good = ["2026-01-02", "meta_ads", "c2", "5"]
    batch = validate_table(WORKSHEETS["marketing_spend"], spend([good, row]))
    assert batch.good.num_rows == 1
    rejected = batch.rejected.to_pylist()
    assert [r["source_row"] for r in rejected] == [2]
    assert reason in rejected[0]["reason"]
    assert row[3] in rejected[0]["raw"]


def test_exact_duplicates_keep_one_and_a_later_correction_wins() -> None:
    rows = [
        ["2026-01-01", "google_ads", "c1", "10"],
        ["2026-01-01", "google_ads", "c1", "10"],  # pasted twice
        ["2026-01-01", "google_ads", "c1", "12"],  # corrected below
        ["2026-01-01", "google_ads", "c1", "-1"],  # an invalid row never supersedes
    ]
    batch = validate_table(WORKSHEETS["marketing_spend"], spend(rows))
    assert [str(r["spend_brl"]) for r in batch.good.to_pylist()] == ["12.00"]
    reasons = {r["source_row"]: r["reason"] for r in batch.rejected.to_pylist()}
    assert reasons[1] == "duplicate key: superseded by row 3"
    assert reasons[2] == "duplicate row: same as row 1"
    assert reasons[4] == "spend_brl: negative"


def test_expenses_allow_negative_only_for_financial_result() -> None:
    header = ["month", "account", "category", "amount_brl"]
    rows = [
        ["2026-01", "Juros", "resultado_financeiro", "-300"],
        ["2026-01", "Aluguel", "despesas_administrativas", "-5000"],
    ]
    batch = validate_table(WORKSHEETS["expenses"], table_from_values([header, *rows], "expenses"))
    assert [r["account"] for r in batch.good.to_pylist()] == ["Juros"]
    assert batch.rejected.to_pylist()[0]["reason"] == "amount_brl: negative cost"


def test_renamed_column_names_the_sheet_and_the_column() -> None:
    table = spend([["2026-01-01", "google_ads", "c1", "1"]], header=["date", "channel", "campaign", "valor_gasto"])
    with pytest.raises(ContractError, match=r"'marketing_spend' is missing required column\(s\) \['spend_brl'\]"):
        validate_table(WORKSHEETS["marketing_spend"], table, what="worksheet")


def test_optional_columns_may_be_absent() -> None:
    header = ["order_id", "customer_id", "order_date", "amount_brl"]
    table = table_from_values([header, ["o1", "c1", "2026-01-03", "99.9"]], "orders")
    batch = validate_table(WORKSHEETS["orders"], table)
    assert batch.good.num_rows == 1 and batch.good.to_pylist()[0]["channel"] is None


def test_header_problems_are_named() -> None:
    with pytest.raises(ValueError, match="is empty"):
        table_from_values([[]], "expenses")
    with pytest.raises(ValueError, match=r"repeats column\(s\) \['date'\]"):
        table_from_values([["date", "date"], ["1", "2"]], "marketing_spend")
    notes = table_from_values([["date", "channel", ""], ["2026-01-01", "organic", "ligar p/ agência"]], "m")
    assert notes.column_names == ["date", "channel"]


def test_a_row_pasted_three_times_gives_two_rejects_with_their_own_ids() -> None:
    row = ["2026-01-01", "google_ads", "c1", "10"]
    batch = validate_table(WORKSHEETS["marketing_spend"], spend([row, row, row]))
    assert batch.good.num_rows == 1
    rejected = batch.rejected.to_pylist()
    assert [r["reason"] for r in rejected] == ["duplicate row: same as row 1"] * 2
    assert len({r["rejected_id"] for r in rejected}) == 2
