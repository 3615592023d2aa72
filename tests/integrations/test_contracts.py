"""Column kinds and key rules of the shared table contracts."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pytest

from integrations.contracts import ColumnSpec, TableContract, validate
from tests.integrations.validation import validate_table

PEOPLE = TableContract(
    name="people",
    columns=(
        ColumnSpec("id"),
        ColumnSpec("email", "email", required=False),
        ColumnSpec("phone", "phone", required=False),
        ColumnSpec("updated", "timestamp"),
        ColumnSpec("opt_in", "boolean", required=False),
    ),
    primary_key=("id",),
    latest_by="updated",
)


def people(*rows: tuple[str, ...]) -> pa.Table:
    names = ["id", "email", "phone", "updated", "opt_in"]
    return pa.table({n: pa.array([r[i] for r in rows], pa.string()) for i, n in enumerate(names)})


@pytest.mark.parametrize(
    ("email", "ok"),
    [("Maria.Silva@Gmail.com", True), ("maria.silva@", False), ("joao@@gmail.com", False), ("ana@mail", False)],
)
def test_email(email: str, ok: bool) -> None:
    batch = validate_table(PEOPLE, people(("1", email, "", "2026-01-01T10:00:00.000Z", "true")))
    assert batch.good.num_rows == int(ok)
    if ok:
        assert batch.good.to_pylist()[0]["email"] == email.lower()
    else:
        assert batch.rejected.to_pylist()[0]["reason"] == "email: invalid email"


@pytest.mark.parametrize(
    ("phone", "e164"),
    [
        ("+55 11 98765-4321", "+5511987654321"),
        ("(11) 98765-4321", "+5511987654321"),
        ("(21) 3456-7890", "+552134567890"),
        ("11 9876", None),
        ("11 9876-abcd", None),
    ],
)
def test_brazilian_phone_is_normalized_to_e164(phone: str, e164: str | None) -> None:
    batch = validate_table(PEOPLE, people(("1", "", phone, "2026-01-01T10:00:00Z", "")))
    if e164:
        assert batch.good.to_pylist()[0]["phone"] == e164
    else:
        assert batch.rejected.to_pylist()[0]["reason"] == "phone: invalid phone"


def test_latest_version_of_a_key_wins_whatever_the_row_order() -> None:
    batch = validate_table(
        PEOPLE,
        people(
            ("1", "new@x.com", "", "2026-02-01T00:00:00Z", "false"),
            ("1", "old@x.com", "", "2026-01-01T00:00:00Z", "true"),
            ("1", "bad@", "", "2026-03-01T00:00:00Z", "true"),  # newest but invalid: cannot win
        ),
    )
    assert [r["email"] for r in batch.good.to_pylist()] == ["new@x.com"]
    reasons = sorted(r["reason"] for r in batch.rejected.to_pylist())
    assert reasons == ["duplicate key: superseded by row 1", "email: invalid email"]


def test_bad_timestamp_and_boolean_are_rejected() -> None:
    batch = validate_table(PEOPLE, people(("1", "", "", "yesterday", "maybe")))
    assert batch.rejected.to_pylist()[0]["reason"] == "updated: invalid timestamp; opt_in: invalid boolean"


def test_identical_rows_can_be_legitimate() -> None:
    orders = TableContract(
        name="orders",
        columns=(ColumnSpec("order_id"), ColumnSpec("amount", "amount")),
        primary_key=("order_id",),
        reject_exact_duplicates=False,
    )
    table = pa.table({"order_id": ["a", "b"], "amount": ["10", "10"], "extra": ["x", "y"]})
    batch = validate_table(orders, table)
    assert batch.good.num_rows == 2
    assert batch.good.column_names == ["order_id", "amount", "extra"], "columns outside the contract pass through"


def test_a_key_accepted_by_an_earlier_batch_of_the_load_is_not_loaded_again_unless_newer() -> None:
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    batches = [
        [("1", "2026-01-01T00:00:00Z"), ("2", "2026-01-01T00:00:00Z")],
        [("1", "2026-01-01T00:00:00Z"), ("2", "2026-02-01T00:00:00Z"), ("3", "2026-01-01T00:00:00Z")],
    ]
    verdicts = []
    first_row = 1
    for rows in batches:
        con.register("arrow_batch", people(*((key, "", "", updated, "") for key, updated in rows)))
        con.execute("create or replace temp table batch as select * from arrow_batch")
        batch = validate(con, PEOPLE, "batch", first_row=first_row, accepted="accepted")
        good = sorted(row[0] for row in con.sql(f"select id from {batch.good}").fetchall())
        verdicts.append((good, con.sql(f"select source_row, reason from {batch.rejected}").fetchall()))
        first_row += len(rows)

    assert verdicts == [
        (["1", "2"], []),
        (["2", "3"], [(3, "duplicate key: superseded by row 1")]),  # the same version again; 2 is newer
    ]
