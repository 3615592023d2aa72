"""Benchmark the dbt metrics layer on generated +Pet worlds, beside what an analyst would write.

    .venv/bin/python benchmarks/bench_metrics.py [--sizes 10000 100000 1000000] [--months 24] [--keep DIR]

For each world size (generated, then ingested with the platform's own loaders into a DuckDB
warehouse — not timed), every measurement runs in a fresh process on a fresh copy of that raw
warehouse, so peak memory and caches are honest:

* full ``dbt build`` (every model, seed and test, ``--full-refresh``): wall seconds, peak RSS; it starts
  from a parsed project, as production does (the manifest is prepared at install time);
* the incremental daily run: one more day of orders lands in the raw tables, then ``dbt build``
  again; target: at least 10x cheaper than the full build;
* the cohort-retention mart (``fct_cohort_retention``'s own execution time from dbt's
  run_results.json, and its whole upstream chain) beside the same matrix computed as one
  hand-written DuckDB query over the raw orders (the floor; target: the mart within 2x) and in
  plain pandas from the same raw data (what an analyst would otherwise write).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DBT_DIR = ROOT / "dbt_project"
COHORT_MART = "model.cro.fct_cohort_retention"

# The matrix as one query over the raw orders: annual plans spread over 12 months, one-offs
# included, cohort = first paid month; the same definition as the mart.
FLOOR_SQL = """
create table floor_cohorts as
with orders as (
    select associated_contact_id as customer_id,
           date_trunc('month', closedate at time zone 'America/Sao_Paulo') as month,
           case when billing_cycle = 'annual' then 12 else 1 end as months,
           case when billing_cycle = 'annual' then amount / 12 else amount end as mrr
    from raw_hubspot.deals
    where dealstage = 'closedwon' and closedate is not null and amount > 0 and associated_contact_id is not null
    union all
    select customer_id, date_trunc('month', order_date), 1, amount_brl from raw_sheets.orders where amount_brl > 0
), customer_months as (
    select customer_id, month + to_months(i) as month, sum(mrr) as revenue
    from orders, range(12) as r(i)
    where i < months and month + to_months(i) <= (select max(month) from orders)
    group by all
), cohorts as (
    select customer_id, min(month) as cohort from customer_months group by all
), sizes as (
    select cohort, count(*) as cohort_size from cohorts group by all
)
select cohort, datediff('month', cohort, month) as k, any_value(cohort_size) as cohort_size,
       count(*) as active, count(*) / any_value(cohort_size) as logo_retention, sum(revenue) as revenue,
       sum(sum(revenue)) over (partition by cohort order by datediff('month', cohort, month)) / any_value(cohort_size)
           as cumulative_revenue_per_customer
from customer_months join cohorts using (customer_id) join sizes using (cohort)
group by cohort, month
"""

# One more day: every order of the newest day again, one day later, under new ids.
ADD_ONE_DAY_SQL = [
    """insert into raw_hubspot.deals by name
       select * replace (
           id || '-next' as id, closedate + interval 1 day as closedate, updated_at + interval 1 day as updated_at,
           hs_lastmodifieddate + interval 1 day as hs_lastmodifieddate)
       from raw_hubspot.deals
       where dealstage = 'closedwon'
         and (closedate at time zone 'America/Sao_Paulo')::date = (
             select max((closedate at time zone 'America/Sao_Paulo')::date) from raw_hubspot.deals)""",
    """insert into raw_sheets.orders by name
       select * replace (order_id || '-next' as order_id, order_date + 1 as order_date)
       from raw_sheets.orders where order_date = (select max(order_date) from raw_sheets.orders)""",
]


def child(task: str, warehouse: Path, work: Path) -> dict[str, object]:
    """One measurement; runs in its own process. dbt runs as a grandchild: its peak is RUSAGE_CHILDREN."""
    import duckdb

    result: dict[str, object] = {}
    started = time.perf_counter()
    if task in ("dbt_full", "dbt_incremental"):
        if task == "dbt_incremental":
            con = duckdb.connect(str(warehouse))
            before = con.execute("select count(*) from raw_hubspot.deals").fetchall()[0][0]
            for sql in ADD_ONE_DAY_SQL:
                con.execute(sql)
            result["new_deals"] = con.execute("select count(*) from raw_hubspot.deals").fetchall()[0][0] - before
            con.close()
            started = time.perf_counter()
        sys.path.insert(0, str(ROOT))
        from assets.dbt.project import DBT_BUILD_ARGS  # what production runs

        args = [*DBT_BUILD_ARGS, "--profiles-dir", str(DBT_DIR), "--target-path", str(work / "target")]
        args += ["--log-path", str(work)]
        env = os.environ | {"CRO_DBT_TARGET": "duckdb", "CRO_DBT_DUCKDB_PATH": str(warehouse), "CRO_DBT_THREADS": "2"}
        if task == "dbt_full":
            args.append("--full-refresh")
            # production parses at install time (`make install` / the Docker build prepare the manifest) and
            # every run starts from that parse: so does this one, untimed
            parse = [str(Path(sys.executable).parent / "dbt"), "parse", *args[args.index("--profiles-dir") :]]
            parse = [a for a in parse if a != "--full-refresh"]
            subprocess.run(parse, cwd=DBT_DIR, env=env, capture_output=True, text=True, check=True)
            started = time.perf_counter()
        done = subprocess.run(
            [str(Path(sys.executable).parent / "dbt"), *args], cwd=DBT_DIR, env=env, capture_output=True, text=True
        )
        if done.returncode != 0:
            raise RuntimeError(f"dbt {task} failed:\n{done.stdout[-3000:]}")
        result["seconds"] = time.perf_counter() - started
        results = json.loads((work / "target" / "run_results.json").read_text())["results"]
        timing = {r["unique_id"]: sum(_seconds(t) for t in r["timing"] if t["name"] == "execute") for r in results}
        result["cohort_mart_s"] = timing.get(COHORT_MART, 0.0)
        result["nodes"] = len(results)
        result["slowest"] = sorted(timing.items(), key=lambda item: -item[1])[:5]
        manifest = json.loads((work / "target" / "manifest.json").read_text())
        chain = _upstream(manifest, COHORT_MART)
        result["cohort_chain_s"] = sum(timing.get(node, 0.0) for node in chain)
        result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    elif task == "floor":
        con = duckdb.connect(str(warehouse))
        started = time.perf_counter()
        con.execute(FLOOR_SQL)
        result["rows"] = con.execute("select count(*) from floor_cohorts").fetchall()[0][0]
        result["seconds"] = time.perf_counter() - started
        result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    elif task == "pandas":
        result.update(_pandas_matrix(warehouse))
        result["seconds"] = time.perf_counter() - started
        result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    else:
        raise ValueError(task)
    return result


def _seconds(timing: dict[str, str]) -> float:
    from datetime import datetime

    start, end = (datetime.fromisoformat(timing[k].replace("Z", "+00:00")) for k in ("started_at", "completed_at"))
    return (end - start).total_seconds()


def _upstream(manifest: dict[str, object], node: str) -> set[str]:
    parents: dict[str, list[str]] = manifest["parent_map"]  # type: ignore[assignment]
    seen: set[str] = set()
    stack = [node]
    while stack:
        current = stack.pop()
        if current in seen or not current.startswith(("model.", "seed.")):
            continue
        seen.add(current)
        stack.extend(parents.get(current, []))
    return seen


def _pandas_matrix(warehouse: Path) -> dict[str, object]:
    """What an analyst writes: read the raw orders, spread annual plans, group, pivot."""
    import duckdb
    import numpy as np
    import pandas as pd

    con = duckdb.connect(str(warehouse), read_only=True)
    deals = con.sql(
        "select associated_contact_id as customer_id, closedate, billing_cycle, amount from raw_hubspot.deals "
        "where dealstage = 'closedwon' and closedate is not null and amount > 0"
    ).df()
    sheet = con.sql("select customer_id, order_date, amount_brl from raw_sheets.orders where amount_brl > 0").df()
    con.close()
    local = pd.to_datetime(deals["closedate"], utc=True).dt.tz_convert("America/Sao_Paulo")
    months = local.dt.year * 12 + local.dt.month - 1
    annual = (deals["billing_cycle"] == "annual").to_numpy()
    repeat = np.where(annual, 12, 1)
    amount = deals["amount"].astype(float).to_numpy()
    spread = pd.DataFrame(
        {
            "customer_id": np.repeat(deals["customer_id"].to_numpy(), repeat),
            "month": np.repeat(months.to_numpy(), repeat) + np.concatenate([np.arange(n) for n in repeat]),
            "revenue": np.repeat(np.where(annual, amount / 12, amount), repeat),
        }
    )
    sheet_dates = pd.to_datetime(sheet["order_date"])
    one_off = pd.DataFrame(
        {
            "customer_id": sheet["customer_id"],
            "month": sheet_dates.dt.year * 12 + sheet_dates.dt.month - 1,
            "revenue": sheet["amount_brl"].astype(float),
        }
    )
    everything = pd.concat([spread, one_off])
    everything = everything[everything["month"] <= months.max()]
    per_month = everything.groupby(["customer_id", "month"], as_index=False)["revenue"].sum()
    per_month["cohort"] = per_month.groupby("customer_id")["month"].transform("min")
    per_month["k"] = per_month["month"] - per_month["cohort"]
    sizes = per_month.drop_duplicates("customer_id").groupby("cohort").size()
    matrix = per_month.groupby(["cohort", "k"]).agg(active=("customer_id", "size"), revenue=("revenue", "sum"))
    matrix["logo_retention"] = matrix["active"] / sizes.reindex(matrix.index.get_level_values(0)).to_numpy()
    matrix["cumulative"] = matrix.groupby(level=0)["revenue"].cumsum()
    return {"rows": len(matrix)}


def run_child(task: str, raw: Path) -> dict[str, object]:
    work = Path(tempfile.mkdtemp(prefix=f"bench-metrics-{task}-"))
    try:
        warehouse = work / "warehouse.duckdb"
        shutil.copyfile(raw, warehouse)
        if task == "dbt_incremental":  # the daily run follows a full build and, like dagster-dbt, reuses its parse
            _run(["dbt_full", str(warehouse), str(work / "full")])
            (work / "target").mkdir()
            shutil.copyfile(
                work / "full" / "target" / "partial_parse.msgpack", work / "target" / "partial_parse.msgpack"
            )
        return _run([task, str(warehouse), str(work)])
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _run(args: list[str]) -> dict[str, object]:
    Path(args[2]).mkdir(parents=True, exist_ok=True)
    done = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-4000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def prepare(customers: int, months: int, base: Path) -> Path:
    """Generate the world and ingest it with the platform's loaders into a raw DuckDB warehouse (not timed)."""
    world, raw = base / f"world-{customers}", base / f"raw-{customers}.duckdb"
    if raw.exists():
        return raw
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_ingest import generate  # the same world the ingestion benchmark measures

    generate(customers, months, world)
    script = (
        "import sys; from pathlib import Path; sys.path.insert(0, sys.argv[1]);"
        "import dagster as dg;"
        "from assets.ingestion.hubspot import hubspot_assets;"
        "from assets.ingestion.sheets import sheet_assets;"
        "from assets.ingestion.whatsapp import whatsapp_events;"
        "from orchestration.resources import HubSpotResource, SheetsResource, WarehouseResource, WhatsAppResource;"
        "w = Path(sys.argv[2]);"
        "r = dg.materialize([*hubspot_assets, *sheet_assets, whatsapp_events], resources={"
        "'warehouse': WarehouseResource(url='duckdb:///' + sys.argv[3]),"
        "'hubspot': HubSpotResource(demo_dir=str(w)), 'sheets': SheetsResource(csv_dir=str(w / 'sheets')),"
        "'whatsapp': WhatsAppResource(landing_dir=str(w / 'whatsapp' / 'webhooks'))});"
        "assert r.success"
    )
    subprocess.run([sys.executable, "-c", script, str(ROOT), str(world), str(raw)], check=True, capture_output=True)
    return raw


def report(full: dict[str, Any], daily: dict[str, Any], floor: dict[str, Any], frame: dict[str, Any]) -> None:
    print(f"  full dbt build         {full['seconds']:>7.2f} s {full['peak_rss_mb']:>6.0f} MB ({full['nodes']} nodes)")
    speedup = full["seconds"] / daily["seconds"]
    print(
        f"  daily incremental run  {daily['seconds']:>7.2f} s {daily['peak_rss_mb']:>6.0f} MB "
        f"(+{daily['new_deals']:,} deals) | full ÷ daily {speedup:.1f}x (target ≥ 10x)"
    )
    mart, chain, floor_s = full["cohort_mart_s"], full["cohort_chain_s"], floor["seconds"]
    print(
        f"  cohort mart            {mart:>7.2f} s (with its upstream chain {chain:.2f} s) | one-query floor "
        f"{floor_s:.2f} s {floor['peak_rss_mb']:.0f} MB | mart ÷ floor {mart / floor_s:.2f}x (target ≤ 2x), "
        f"chain ÷ floor {chain / floor_s:.2f}x"
    )
    print(
        f"  pandas matrix          {frame['seconds']:>7.2f} s {frame['peak_rss_mb']:>6.0f} MB | pandas ÷ floor "
        f"{frame['seconds'] / floor_s:.2f}x"
    )
    slowest = ", ".join(f"{node.split('.')[-1]} {seconds:.2f} s" for node, seconds in full["slowest"])
    print(f"  slowest nodes of the full build: {slowest}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--keep", type=Path, default=None, help="keep generated worlds and raw warehouses here")
    parser.add_argument("--child", nargs=3, metavar=("TASK", "WAREHOUSE", "WORK"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        task, warehouse, work = args.child
        print(json.dumps(child(task, Path(warehouse), Path(work))))
        return

    base = args.keep or Path(tempfile.mkdtemp(prefix="bench-metrics-"))
    base.mkdir(parents=True, exist_ok=True)
    try:
        for customers in args.sizes:
            started = time.perf_counter()
            raw = prepare(customers, args.months, base)
            ready = time.perf_counter() - started
            print(f"\n{customers:,} customers, {args.months} months (raw warehouse ready in {ready:.0f} s)")
            report(
                run_child("dbt_full", raw),
                run_child("dbt_incremental", raw),
                run_child("floor", raw),
                run_child("pandas", raw),
            )
    finally:
        if args.keep is None:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
