"""Benchmark: ``parse_landing`` against DuckDB simply reading the same landing file with ``read_json``.

Run:

    .venv/bin/python benchmarks/bench_whatsapp_parse.py --events 1000000

Lines are produced from templates rendered by ``payloads.py``, so they have the documented shape, but generation
does not pay ``json.dumps`` per event. About 2% of status events are delivered twice and 1 line in 100 is an
inbound text message. Runs are interleaved and repeated because the baseline and the parser compete for the same
cores and page cache.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from integrations.whatsapp.parse import parse_landing
from integrations.whatsapp.payloads import status_webhook, text_message_webhook

_ENVELOPE = {
    "waba_id": "102290129340398",
    "phone_number_id": "106540352242922",
    "display_phone_number": "5511999990000",
}
_T0 = datetime(2025, 5, 1, 12, tzinfo=UTC)


def _template(body: dict) -> str:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


def _status_template(status: str) -> str:
    body = status_webhook(
        **_ENVELOPE,
        message_id="@MID@",
        status=status,
        timestamp=_T0,
        recipient_id="@PHONE@",
        conversation_id="@CONV@",
        biz_opaque_callback_data="campaign=reativacao_2025_05;variant=@VAR@",
    )
    return _template(body).replace(str(int(_T0.timestamp())), "@TS@", 1)


def generate(path: Path, events: int, seed: int = 7) -> int:
    """Write ``events`` status events (plus inbound messages) as landing lines; returns the number of lines."""
    rng = random.Random(seed)
    templates = {status: _status_template(status) for status in ("sent", "delivered", "read", "failed")}
    inbound = _template(
        text_message_webhook(
            **_ENVELOPE, profile_name="Joana Sá", message_id="@MID@", wa_id="@PHONE@", body="@BODY@", timestamp=_T0
        )
    ).replace(str(int(_T0.timestamp())), "@TS@", 1)
    base = int(_T0.timestamp())
    lines = 0
    with path.open("w", encoding="utf-8") as out:
        buffer: list[str] = []
        for i in range(events):
            status = "failed" if i % 97 == 0 else ("sent", "delivered", "read")[i % 3]
            line = (
                templates[status]
                .replace("@MID@", f"wamid.HBgNNTUxMTk{i // 3:012d}FQIAERgSQ0E=")
                .replace("@TS@", str(base + i))
                .replace("@PHONE@", f"55119{rng.randrange(10**7, 10**8)}")
                .replace("@CONV@", f"c{i // 3:x}")
                .replace("@VAR@", "AB"[i % 2])
            )
            buffer.append(line)
            if rng.random() < 0.02:
                buffer.append(line)  # Meta retried the delivery
            if i % 100 == 0:
                text = rng.choice(["Sair", "quero assinar o kit", "PARAR!"])
                buffer.append(
                    inbound.replace("@MID@", f"wamid.in{i}")
                    .replace("@TS@", str(base + i))
                    .replace("@PHONE@", f"55119{rng.randrange(10**7, 10**8)}")
                    .replace("@BODY@", text)
                )
            if len(buffer) >= 50_000:
                lines += len(buffer)
                out.write("\n".join(buffer) + "\n")
                buffer.clear()
        lines += len(buffer)
        if buffer:
            out.write("\n".join(buffer) + "\n")
    return lines


def _timed(run: Callable[[], object]) -> tuple[float, float]:
    """Wall and CPU seconds (all threads): CPU time is the steadier figure on a shared machine."""
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="DuckDB threads for both sides (default: all)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="whatsapp-bench-") as tmp:
        path = Path(tmp) / "2025-05-01.jsonl"
        started = time.perf_counter()
        lines = generate(path, args.events)
        print(f"generated {lines:,} lines, {path.stat().st_size / 1e6:,.0f} MB in {time.perf_counter() - started:.1f}s")
        dirty = Path(tmp) / "2025-05-02.jsonl"
        dirty.write_bytes(path.read_bytes() + b'{"object":"whatsapp_business_account","entry":[{"id"\nnot json\n')

        con = duckdb.connect()
        if args.threads:
            con.execute(f"SET threads = {args.threads}")
        source = str(path).replace("'", "''")

        def baseline_arrow() -> None:
            con.sql(f"SELECT * FROM read_json('{source}', format = 'newline_delimited')").to_arrow_table()

        def baseline_table() -> None:
            con.execute(
                f"CREATE OR REPLACE TABLE t AS SELECT * FROM read_json('{source}', format = 'newline_delimited')"
            )

        runs: dict[str, Callable[[], object]] = {
            "duckdb read_json -> Arrow": baseline_arrow,
            "duckdb read_json -> table": baseline_table,
            "parse_landing (clean file)": lambda: parse_landing([path], threads=args.threads),
            "parse_landing (2 bad lines)": lambda: parse_landing([dirty], threads=args.threads),
        }
        timings: dict[str, list[tuple[float, float]]] = {name: [] for name in runs}
        parse_landing([path])  # warm-up: first Arrow scan imports pandas, first read fills the page cache
        for _ in range(args.repeat):
            for name, run in runs.items():
                timings[name].append(_timed(run))
        parsed = parse_landing([dirty])
        print(
            f"parsed: {parsed.statuses.num_rows:,} statuses, {parsed.messages.num_rows:,} messages,"
            f" {parsed.rejected.num_rows} rejected"
        )
        reference = min(wall for wall, _ in timings["duckdb read_json -> Arrow"])
        reference_cpu = min(cpu for _, cpu in timings["duckdb read_json -> Arrow"])
        print(f"{'':32s} {'wall min':>9s} {'median':>7s} {'cpu min':>8s}   ratio to read_json->Arrow (wall, cpu)")
        for name, values in timings.items():
            walls = [wall for wall, _ in values]
            cpus = [cpu for _, cpu in values]
            print(
                f"{name:32s} {min(walls):8.2f}s {statistics.median(walls):6.2f}s {min(cpus):7.2f}s"
                f"   {min(walls) / reference:4.2f}x  {min(cpus) / reference_cpu:4.2f}x"
            )


if __name__ == "__main__":
    main()
