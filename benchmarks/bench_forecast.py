"""Benchmark the forecast engine on every forecast series of a generated world, beside statsforecast's AutoETS.

    .venv/bin/python benchmarks/bench_forecast.py [--customers 100000] [--months 24] [--horizon-months 6]
        [--keep DIR] [--series N]

The world is generated and ingested into a raw DuckDB warehouse once (not timed; cached in
``--keep``, default ``/tmp/bm``, shared with bench_metrics). A copy of that warehouse gets one full
``dbt build`` (what production runs, less the models that read the forecasts; timed separately and
printed as "marts ready in N s"), then every series of every forecast asset
(``assets.forecasting.series.FORECASTS``) is read with ``read_series``, exactly as the assets do.

Two measurements, each in a fresh subprocess so peak memory and warm caches are honest, both on the
same series, horizons and backtest cutoffs:

* the engine: ``forecast_series(history, horizon, freq, seed=0)`` per series — validation, the
  final fit of every candidate (Prophet, seasonal naive, drift) and the rolling-origin backtest
  that picks one. Printed: its time, the chosen model, the chosen model's and Prophet's backtest
  MASE, sMAPE and 80% interval coverage.
* the baseline: statsforecast's ``AutoETS`` (season length 12 monthly, 7 daily, ``level=[80]``)
  refitted at the engine's own backtest cutoffs (passed over from the engine's run) through the
  engine's ``run_backtest``, so it is scored by the same metric functions (MASE averaged over
  cutoffs, each scaled by its training window's seasonal-naive MAE), plus the final fit for the
  horizon; timed the same way (fit + backtest). Forecasts are clipped at 0 like the engine's.

Both sides are warmed up on a tiny series before anything is timed (imports, Stan model loading,
statsforecast's first call); the cold import and first call are printed separately. Peak memory is
each measuring process's own (Prophet's CmdStan optimizer runs as a small separate executable per
fit and is not counted). Totals: engine seconds ÷ AutoETS seconds for all series, how many series AutoETS beats
the published model (and Prophet) on MASE, and peak RSS of each side.
"""

from __future__ import annotations

import argparse
import json
import math
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
# Models that read what the forecast assets write (the projected DRE): not built before forecasting,
# as in production (assets.dbt.models.AFTER_FORECASTS).
AFTER_FORECASTS = "tag:after_forecasts"
SEED = 0
INTERVAL_WIDTH = 0.8


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def build_marts(raw: Path, work: Path) -> tuple[Path, float]:
    """Copy the raw warehouse into ``work`` and run one full ``dbt build`` on it; path and seconds."""
    sys.path.insert(0, str(ROOT))
    from assets.dbt.project import DBT_BUILD_ARGS  # what production runs

    warehouse = work / "warehouse.duckdb"
    shutil.copyfile(raw, warehouse)
    args = [*DBT_BUILD_ARGS, "--exclude", AFTER_FORECASTS, "--profiles-dir", str(DBT_DIR)]
    args += ["--target-path", str(work / "target"), "--log-path", str(work)]
    env = os.environ | {"CRO_DBT_TARGET": "duckdb", "CRO_DBT_DUCKDB_PATH": str(warehouse), "CRO_DBT_THREADS": "2"}
    started = time.perf_counter()
    done = subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), *args], cwd=DBT_DIR, env=env, capture_output=True, text=True
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        # A failing data test does not stop the forecasts; a mart they read that was not built does.
        from assets.forecasting.series import FORECASTS

        run_results = work / "target" / "run_results.json"
        if not run_results.exists():
            raise RuntimeError(f"dbt build failed:\n{done.stdout[-3000:]}")
        results = json.loads(run_results.read_text())["results"]
        failed = [r["unique_id"] for r in results if r["status"] not in ("success", "pass", "warn", "skipped")]
        built = {r["unique_id"].split(".")[-1] for r in results if r["status"] == "success"}
        missing = sorted({mart for spec in FORECASTS for mart in spec.marts} - built)
        if missing or not results:
            raise RuntimeError(f"dbt build failed (marts not built: {missing}):\n{done.stdout[-3000:]}")
        print(f"warning: dbt build: {len(failed)} failing node(s) ({', '.join(failed)}); the forecast marts were built")
    return warehouse, seconds


def load_series(warehouse: Path, limit: int | None) -> list[tuple[str, str, Any]]:
    """``[(name, freq, history)]`` for every series of every forecast spec, in FORECASTS order."""
    sys.path.insert(0, str(ROOT))
    from assets.forecasting.series import FORECASTS, read_series
    from orchestration.warehouse import Warehouse

    store = Warehouse(f"duckdb:///{warehouse}")
    found = [
        (f"{spec.name}/{series}", spec.freq, history)
        for spec in FORECASTS
        for series, history in read_series(store, spec).items()
    ]
    return found[:limit] if limit else found


def horizon_periods(freq: str, last: Any, months: int) -> int:
    """Periods in ``months`` calendar months after ``last`` (assets.forecasting.assets.horizon_periods)."""
    import pandas as pd

    return months if freq == "MS" else int((last + pd.DateOffset(months=months) - last).days)


def _tiny_series(freq: str) -> Any:
    import numpy as np
    import pandas as pd

    n = 30 if freq == "MS" else 60
    steps = np.arange(n, dtype=float)
    return pd.DataFrame({"ds": pd.date_range("2020-01-01", periods=n, freq=freq), "y": 100 + steps + 5 * np.sin(steps)})


def _finite(value: float) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def child_engine(warehouse: Path, months: int, limit: int | None) -> dict[str, Any]:
    """The engine on every series; per series its time, choice, metrics and backtest plan."""
    started = time.perf_counter()
    sys.path.insert(0, str(ROOT))
    from assets.forecasting.engine import forecast_series

    imported = time.perf_counter() - started
    started = time.perf_counter()
    forecast_series(_tiny_series("MS"), 3, "MS", seed=SEED)  # cold first call, then warm
    cold = time.perf_counter() - started
    forecast_series(_tiny_series("D"), 7, "D", seed=SEED)
    rows = []
    for name, freq, history in load_series(warehouse, limit):
        row: dict[str, Any] = {"series": name, "freq": freq, "n": len(history)}
        if history.empty:
            rows.append({**row, "skipped": "no complete periods"})
            continue
        horizon = horizon_periods(freq, history["ds"].iloc[-1], months)
        started = time.perf_counter()
        try:
            result = forecast_series(history, horizon, freq, seed=SEED)
        except ValueError as error:
            rows.append({**row, "skipped": str(error)})
            continue
        seconds = time.perf_counter() - started
        report = result.backtest
        rows.append(
            {
                **row,
                "horizon": horizon,
                "seconds": seconds,
                "chosen": result.model,
                "metric": result.selection_metric,
                **{
                    f"{key}_{which}": _finite(report.metric(model, key))
                    for which, model in (("chosen", result.model), ("prophet", "prophet"))
                    for key in ("mase", "smape", "coverage")
                },
                "cutoffs": [f"{c:%Y-%m-%d}" for c in report.cutoffs],
                "backtest_horizon": report.horizon,
                "n_cutoffs": len(report.cutoffs),
            }
        )
    return {
        "import_s": imported,
        "cold_s": cold,
        "rows": rows,
        "peak_rss_mb": _peak_rss_mb(),
    }


def child_autoets(warehouse: Path, months: int, limit: int | None, plans: Path) -> dict[str, Any]:
    """AutoETS on the same series, refitted at the engine's cutoffs, scored by the engine's backtest."""
    started = time.perf_counter()
    import numpy as np
    import pandas as pd
    from statsforecast import StatsForecast
    from statsforecast.models import AutoETS

    sys.path.insert(0, str(ROOT))
    from assets.forecasting.backtest import BacktestPlan, empty_report, run_backtest
    from assets.forecasting.baselines import PointForecast
    from assets.forecasting.history import SEASON_LENGTHS, prepare_history

    imported = time.perf_counter() - started
    level = round(INTERVAL_WIDTH * 100)

    def fit_predict(train: pd.DataFrame, h: int, freq: str) -> tuple[PointForecast, str]:
        model = StatsForecast(models=[AutoETS(season_length=SEASON_LENGTHS[freq])], freq=freq, n_jobs=1)
        model.fit(df=train[["ds", "y"]].assign(unique_id="s"))
        out = model.predict(h=h, level=[level])
        forecast = PointForecast(
            out["AutoETS"].to_numpy(dtype=float),
            out[f"AutoETS-lo-{level}"].to_numpy(dtype=float),
            out[f"AutoETS-hi-{level}"].to_numpy(dtype=float),
        )
        return forecast.clipped(0.0), str(model.fitted_[0, 0].model_["method"])

    def model_fn(freq: str) -> Any:
        return lambda train, future: fit_predict(train, len(future), freq)[0]

    started = time.perf_counter()
    fit_predict(_tiny_series("MS"), 3, "MS")  # cold first call, then warm
    cold = time.perf_counter() - started
    fit_predict(_tiny_series("D"), 7, "D")
    jit = "numba" in sys.modules
    engine = {row["series"]: row for row in json.loads(plans.read_text())}
    rows = []
    for name, freq, history in load_series(warehouse, limit):
        plan_row = engine.get(name)
        if plan_row is None or "skipped" in plan_row:
            continue
        m = SEASON_LENGTHS[freq]
        started = time.perf_counter()
        frame, _ = prepare_history(history, freq)
        cutoffs = pd.DatetimeIndex(pd.to_datetime(plan_row["cutoffs"]))
        positions = tuple(int(p) for p in np.searchsorted(frame["ds"].to_numpy(), cutoffs.to_numpy()))
        spacing = positions[1] - positions[0] if len(positions) > 1 else 1
        plan = BacktestPlan(plan_row["backtest_horizon"], positions, spacing)
        if positions:
            report = run_backtest(frame, {"autoets": model_fn(freq)}, plan, m, INTERVAL_WIDTH)
        else:
            report = empty_report("the engine ran no backtest", plan.horizon, INTERVAL_WIDTH)
        try:
            _, method = fit_predict(frame, plan_row["horizon"], freq)
        except Exception as error:  # report it; the engine's side of the table still stands
            method = f"failed: {type(error).__name__}"
        seconds = time.perf_counter() - started
        rows.append(
            {
                "series": name,
                "seconds": seconds,
                "method": method,
                "failure": report.failures.get("autoets"),
                **{key: _finite(report.metric("autoets", key)) for key in ("mase", "smape", "coverage")},
            }
        )
    return {
        "import_s": imported,
        "cold_s": cold,
        "jit": jit,
        "rows": rows,
        "peak_rss_mb": _peak_rss_mb(),
    }


def _run(args: list[str]) -> dict[str, Any]:
    done = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-4000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def _num(value: float | None, digits: int = 2, width: int = 6) -> str:
    return f"{'—' if value is None else f'{value:.{digits}f}':>{width}}"


def _pct(value: float | None) -> str:
    return f"{'—' if value is None else f'{value:.0%}':>4}"


def report(engine: dict[str, Any], ets: dict[str, Any]) -> None:
    jit = "numba JIT compiled" if ets["jit"] else "ETS is compiled C++ here, no numba JIT"
    print(
        f"  warm-up (not timed below): engine import {engine['import_s']:.1f} s, first call {engine['cold_s']:.2f} s"
        f" | statsforecast import {ets['import_s']:.1f} s, first AutoETS call {ets['cold_s']:.3f} s ({jit})"
    )
    by_name = {row["series"]: row for row in ets["rows"]}
    head = (
        f"  {'series':<40} {'n':>4} {'f':>2} {'h':>3} {'cuts':>4} │ {'engine s':>8} {'chosen':<14} {'MASE':>6} "
        f"{'Proph.':>6} │ {'ETS s':>6} {'ETS model':<11} {'MASE':>6} │ {'sMAPE eng':>9} {'ETS':>6} │ "
        f"{'cov eng':>7} {'ETS':>4}"
    )
    print(head)
    print("  " + "─" * (len(head) - 2))
    engine_s = ets_s = 0.0
    compared = ets_wins = ets_wins_prophet = prophet_compared = 0
    mase_pairs: list[tuple[float, float]] = []
    for row in engine["rows"]:
        if "skipped" in row:
            print(f"  {row['series']:<40} {row['n']:>4} {row['freq']:>2}   skipped: {row['skipped']}")
            continue
        other = by_name[row["series"]]
        engine_s += row["seconds"]
        ets_s += other["seconds"]
        chosen, mase = row["chosen"], row["mase_chosen"]
        if mase is not None and other["mase"] is not None:
            compared += 1
            ets_wins += other["mase"] < mase
            mase_pairs.append((mase, other["mase"]))
        if row["mase_prophet"] is not None and other["mase"] is not None:
            prophet_compared += 1
            ets_wins_prophet += other["mase"] < row["mase_prophet"]
        print(
            f"  {row['series']:<40} {row['n']:>4} {row['freq']:>2} {row['horizon']:>3} {row['n_cutoffs']:>4} │ "
            f"{row['seconds']:>8.2f} {chosen:<14} {_num(mase, 3)} {_num(row['mase_prophet'], 3)} │ "
            f"{other['seconds']:>6.2f} {other['method'][:11]:<11} {_num(other['mase'], 3)} │ "
            f"{_num(row['smape_chosen'], 1, 9)} {_num(other['smape'], 1)} │ "
            f"{_pct(row['coverage_chosen']):>7} {_pct(other['coverage'])}"
        )
        if other["failure"]:
            print(f"    AutoETS failed in the backtest: {other['failure']}")
    print("  " + "─" * (len(head) - 2))
    print(
        "  n points, f freq, h horizon, cuts backtest cutoffs (shared); MASE/sMAPE/coverage from the backtest; "
        "coverage is each model's own 80% interval,\n  before the engine widens the published one by its "
        "backtest interval_scale. MASE < 1 beats the in-sample seasonal naive of each training window."
    )
    series = sum("skipped" not in row for row in engine["rows"])
    ratio = engine_s / ets_s if ets_s else float("nan")
    print(
        f"  all {series} series: engine {engine_s:.2f} s, AutoETS {ets_s:.2f} s | engine ÷ AutoETS {ratio:.1f}x "
        f"| {series / engine_s:.2f} vs {series / ets_s:.2f} series/s"
    )
    if mase_pairs:
        ours = sum(a for a, _ in mase_pairs) / len(mase_pairs)
        theirs = sum(b for _, b in mase_pairs) / len(mase_pairs)
        print(
            f"  MASE: AutoETS beats the published model on {ets_wins} of {compared} series and Prophet on "
            f"{ets_wins_prophet} of {prophet_compared}; mean MASE published {ours:.2f} vs AutoETS {theirs:.2f}"
        )
    print(
        f"  peak RSS: engine {engine['peak_rss_mb']:.0f} MB | AutoETS {ets['peak_rss_mb']:.0f} MB "
        "(each in its own process, imports included)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--months", type=int, default=24, help="months of history when the world is generated")
    parser.add_argument("--horizon-months", type=int, default=6)
    parser.add_argument("--keep", type=Path, default=Path("/tmp/bm"), help="generated worlds and raw warehouses")
    parser.add_argument("--series", type=int, default=None, help="only the first N series (a quick run)")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        task, warehouse, *rest = args.child
        if task == "engine":
            result = child_engine(Path(warehouse), args.horizon_months, args.series)
        elif task == "autoets":
            result = child_autoets(Path(warehouse), args.horizon_months, args.series, Path(rest[0]))
        else:
            raise ValueError(task)
        print(json.dumps(result))
        return

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_metrics import prepare  # the same cached world and raw warehouse

    args.keep.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    raw = prepare(args.customers, args.months, args.keep)
    ready = time.perf_counter() - started
    work = Path(tempfile.mkdtemp(prefix="bench-forecast-"))
    try:
        warehouse, dbt_s = build_marts(raw, work)
        print(
            f"\n{args.customers:,} customers (raw warehouse ready in {ready:.0f} s, marts ready in {dbt_s:.0f} s), "
            f"horizon {args.horizon_months} months, seed {SEED}, load average {os.getloadavg()[0]:.1f}"
        )
        common = [str(warehouse), "--horizon-months", str(args.horizon_months)]
        if args.series:
            common += ["--series", str(args.series)]
        engine = _run(["engine", *common])
        plans = work / "engine.json"
        plans.write_text(json.dumps(engine["rows"]))
        ets = _run(["autoets", common[0], str(plans), *common[1:]])
        report(engine, ets)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
