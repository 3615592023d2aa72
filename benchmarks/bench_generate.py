"""Benchmark the +Pet demo world generator at several sizes, against DuckDB's own JSON-writing floor.

    .venv/bin/python benchmarks/bench_generate.py [--sizes 10000 100000 1000000] [--months 24]

Each size runs in a fresh subprocess so its peak memory (the child's ``ru_maxrss``) is honest and
one size's heap does not inflate the next. The baseline, also in a fresh subprocess, is the time
DuckDB takes to write the same number of rows and bytes as JSON lines from a trivial generated
table: the I/O floor no generator of these files can beat on this machine. The ratio says how far
above that floor the full simulation + rendering is.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KINDS = {
    "hubspot": ("hubspot/contacts.pages.jsonl", "hubspot/deals.pages.jsonl"),
    "whatsapp": ("whatsapp/webhooks", "whatsapp/campaign_sends.csv"),
    "sheets": ("sheets/marketing_spend.csv", "sheets/expenses.csv", "sheets/orders.csv"),
    "truth": ("ground_truth_customers.parquet",),
}


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def _folder_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def child_generate(customers: int, months: int, out: Path) -> dict[str, object]:
    sys.path.insert(0, str(ROOT))
    from integrations.demo_world import WorldConfig, generate_world

    config = WorldConfig(customers=customers, months=months, end_month="2026-10", seed=42)
    started = time.perf_counter()
    summary = generate_world(config, out_dir=out)
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "rows": summary.row_counts,
        "bytes": _folder_bytes(out),
        "peak_rss_mb": _peak_rss_mb(),
    }


def child_floor(rows: int, total_bytes: int, out: Path) -> dict[str, object]:
    """Write ``rows`` JSON lines totalling about ``total_bytes`` with DuckDB from ``range()``."""
    import duckdb

    pad = max(total_bytes // max(rows, 1) - len('{"id":0000000,"pad":""}\n'), 0)
    con = duckdb.connect()
    started = time.perf_counter()
    con.execute(
        f"""COPY (SELECT '{{"id":' || i || ',"pad":"' || repeat('x', {pad}) || '"}}' AS line FROM range({rows}) t(i))
            TO '{out / "floor.jsonl"}' (FORMAT csv, HEADER false, QUOTE '', ESCAPE '', DELIMITER '\t')"""
    )
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "bytes": (out / "floor.jsonl").stat().st_size, "peak_rss_mb": _peak_rss_mb()}


def _run_child(*args: str) -> dict[str, object]:
    result = subprocess.run(
        [sys.executable, __file__, "--child", *args], check=True, capture_output=True, text=True, cwd=ROOT
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--tmp", type=Path, default=None, help="Scratch folder (default: the system temp dir).")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        kind, *rest = args.child
        if kind == "generate":
            print(json.dumps(child_generate(int(rest[0]), int(rest[1]), Path(rest[2]))))
        else:
            print(json.dumps(child_floor(int(rest[0]), int(rest[1]), Path(rest[2]))))
        return

    header = (
        f"{'customers':>10} {'rows':>11} {'hubspot':>10} {'whatsapp':>9} {'sheets':>8} {'truth':>9} "
        f"{'GB':>6} {'seconds':>8} {'rows/s':>10} {'peak MB':>8} {'floor s':>8} {'ratio':>6}"
    )
    print(header)
    print("-" * len(header))
    for customers in args.sizes:
        scratch = Path(tempfile.mkdtemp(prefix=f"demo_world_{customers}_", dir=args.tmp))
        try:
            run = _run_child("generate", str(customers), str(args.months), str(scratch / "world"))
            rows: dict[str, int] = run["rows"]  # type: ignore[assignment]
            total = sum(rows.values())
            per_kind = {kind: sum(rows[name] for name in names) for kind, names in KINDS.items()}
            written = int(run["bytes"])  # type: ignore[arg-type]
            shutil.rmtree(scratch / "world")
            (scratch / "floor").mkdir()
            floor = _run_child("floor", str(total), str(written), str(scratch / "floor"))
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        seconds = float(run["seconds"])  # type: ignore[arg-type]
        floor_seconds = float(floor["seconds"])  # type: ignore[arg-type]
        print(
            f"{customers:>10,} {total:>11,} {per_kind['hubspot']:>10,} {per_kind['whatsapp']:>9,} "
            f"{per_kind['sheets']:>8,} {per_kind['truth']:>9,} {written / 1e9:>6.2f} {seconds:>8.1f} "
            f"{total / seconds:>10,.0f} {float(run['peak_rss_mb']):>8,.0f} {floor_seconds:>8.1f} "  # type: ignore[arg-type]
            f"{seconds / floor_seconds:>6.1f}",
            flush=True,
        )
    print(
        "\nrows = HubSpot objects + webhook bodies + CSV data rows + ground-truth customers; "
        "floor = DuckDB writing the same rows and bytes of JSON lines from range(); ratio = seconds / floor."
    )


if __name__ == "__main__":
    main()
