"""The set-based merge behaves the same on DuckDB and on a real PostgreSQL server."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from orchestration.warehouse import Warehouse


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def warehouse(request: pytest.FixtureRequest, tmp_path: Path) -> Warehouse:
    if request.param == "duckdb":
        return Warehouse(f"duckdb:///{tmp_path / 'wh.duckdb'}")
    return Warehouse(request.getfixturevalue("postgres_dsn"))


def batch(ids: list[str], amounts: list[float]) -> pa.Table:
    return pa.table({"id": ids, "amount": pa.array(amounts, pa.float64())})


def test_merge_is_idempotent_and_upserts(warehouse: Warehouse) -> None:
    first = warehouse.merge("raw_test", "orders", batch(["a", "b"], [1.0, 2.0]), ["id"])
    again = warehouse.merge("raw_test", "orders", batch(["a", "b"], [1.0, 2.0]), ["id"])
    assert (first.inserted, first.updated) == (2, 0)
    assert (again.inserted, again.updated) == (0, 2)
    assert warehouse.row_count("raw_test", "orders") == 2

    changed = warehouse.merge("raw_test", "orders", batch(["b", "c"], [20.0, 3.0]), ["id"])
    assert (changed.inserted, changed.updated) == (1, 1)
    rows = warehouse.query('select id, amount from "raw_test"."orders" order by id')
    assert rows == [("a", 1.0), ("b", 20.0), ("c", 3.0)]


def test_new_columns_are_added_without_breaking_the_load(warehouse: Warehouse) -> None:
    warehouse.merge("raw_test", "contacts", pa.table({"id": ["1"], "email": ["a@x.com"]}), ["id"])
    evolved = pa.table({"id": ["2"], "email": ["b@x.com"], "city": ["Recife"]})
    warehouse.merge("raw_test", "contacts", evolved, ["id"])
    rows = warehouse.query('select id, city from "raw_test"."contacts" order by id')
    assert rows == [("1", None), ("2", "Recife")]


def test_batch_with_duplicate_keys_is_refused_and_loses_nothing(warehouse: Warehouse) -> None:
    warehouse.merge("raw_test", "orders", batch(["a"], [1.0]), ["id"])
    with pytest.raises(ValueError, match="duplicate keys"):
        warehouse.merge("raw_test", "orders", batch(["b", "b"], [1.0, 2.0]), ["id"])
    assert warehouse.query('select id from "raw_test"."orders"') == [("a",)]


def test_failed_batch_rolls_back(warehouse: Warehouse) -> None:
    warehouse.merge("raw_test", "orders", batch(["a"], [1.0]), ["id"])
    bad_type = pa.table({"id": ["a", "z"], "amount": ["not-a-number", "x"]})
    with pytest.raises(Exception):  # noqa: B017 - each engine raises its own conversion error
        warehouse.merge("raw_test", "orders", bad_type, ["id"])
    assert warehouse.query('select id, amount from "raw_test"."orders"') == [("a", 1.0)]


def test_load_state_survives_a_new_connection(warehouse: Warehouse) -> None:
    assert warehouse.read_state("hubspot.contacts") is None
    warehouse.write_state("hubspot.contacts", {"modified_after": "2026-01-01T00:00:00Z"})
    warehouse.write_state("hubspot.contacts", {"modified_after": "2026-02-01T00:00:00Z"})
    reopened = Warehouse(warehouse.url)
    assert reopened.read_state("hubspot.contacts") == {"modified_after": "2026-02-01T00:00:00Z"}


def test_keep_when_null_preserves_a_value_the_source_omitted(warehouse: Warehouse) -> None:
    full = pa.table({"id": ["d1", "d2"], "stage": ["open", "open"], "contact_id": ["c1", "c2"]})
    warehouse.merge("raw_test", "deals", full, ["id"], keep_when_null=["contact_id"])
    partial = pa.table(
        {"id": ["d1", "d3"], "stage": ["won", "open"], "contact_id": pa.array([None, None], pa.string())}
    )
    warehouse.merge("raw_test", "deals", partial, ["id"], keep_when_null=["contact_id"])
    rows = warehouse.query('select id, stage, contact_id from "raw_test"."deals" order by id')
    assert rows == [("d1", "won", "c1"), ("d2", "open", "c2"), ("d3", "open", None)]


@pytest.mark.postgres
def test_concurrent_first_merges_into_a_new_schema_do_not_collide(postgres_dsn: str) -> None:
    """Parallel steps (the multiprocess executor) each create the schema and table they write on first use:
    PostgreSQL's ``create … if not exists`` is not safe against a concurrent creator; the merge must be."""
    import threading

    errors: list[BaseException] = []
    for attempt in range(8):
        barrier = threading.Barrier(4)

        def load(worker: int, attempt: int = attempt, barrier: threading.Barrier = barrier) -> None:
            try:
                barrier.wait()
                batch = pa.table({"id": [f"{worker}"], "value": [worker]})
                Warehouse(postgres_dsn).merge(f"race_{attempt}", "events", batch, ["id"])
            except BaseException as error:  # collected and asserted below
                errors.append(error)

        threads = [threading.Thread(target=load, args=(worker,)) for worker in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert errors == []
    rows = Warehouse(postgres_dsn).query("select count(*) from race_7.events")
    assert rows[0][0] == 4
