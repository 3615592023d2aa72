"""A delivering process killed midway: no key is ever sent twice, and the one in flight is ``unknown``.

The deliver runs in a subprocess whose sender appends each key it is handed to a file (fsynced, so the
file is the truth of what "left") and kills the process with ``os._exit(1)`` — no ``finally``, no flush —
inside the N-th send, i.e. after the message left and before the outbox heard about it. Then the test
process runs deliver again with a sender that appends to the same file.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from integrations.outbound import OutboundMessage, SendResult
from orchestration.outbound.outbox import Outbox
from orchestration.warehouse import Warehouse
from tests.orchestration.outbound.conftest import RecordingSender, statuses, whatsapp_messages

ROOT = Path(__file__).resolve().parents[3]
SOURCE = "campaign:crash:v1"
CHILD = textwrap.dedent(
    """
    import os, sys
    from integrations.outbound import SendResult
    from orchestration.outbound.outbox import Outbox
    from orchestration.warehouse import Warehouse

    url, log, crash_at, batch_rows = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])

    class DyingSender:
        channel = "whatsapp"
        dry_run = False

        def __init__(self):
            self.handed = 0

        def send(self, message):
            with open(log, "a", encoding="utf-8") as f:
                f.write(message.idempotency_key + "\\n")
                f.flush()
                os.fsync(f.fileno())
            self.handed += 1
            if self.handed == crash_at:
                os._exit(1)  # killed after the message left, before the outbox recorded it
            return SendResult("sent", provider_id="wamid.child." + message.idempotency_key)

    Outbox.RESULT_BATCH_ROWS = batch_rows
    Outbox.RESULT_BATCH_SECONDS = 0.0 if batch_rows == 1 else 3600.0
    Outbox(Warehouse(url)).deliver(DyingSender(), source="campaign:crash:v1", run_id="crashed-run")
    sys.exit(0)  # never reached
    """
)


class AppendingSender(RecordingSender):
    def __init__(self, log: Path) -> None:
        super().__init__()
        self.log = log

    def send(self, message: OutboundMessage) -> SendResult:
        with self.log.open("a", encoding="utf-8") as f:
            f.write(message.idempotency_key + "\n")
        return super().send(message)


@pytest.mark.parametrize("batch_rows", [1, Outbox.RESULT_BATCH_ROWS], ids=["results-per-row", "results-batched"])
def test_a_killed_deliver_never_sends_a_key_twice(warehouse: Warehouse, tmp_path: Path, batch_rows: int) -> None:
    messages = whatsapp_messages(20)
    keys = sorted(m.idempotency_key for m in messages)
    Outbox(warehouse).enqueue(messages, source=SOURCE, run_id="enqueue")
    log = tmp_path / "handed.txt"
    crash_at = 7

    child = subprocess.run(
        [sys.executable, "-c", CHILD, warehouse.url, str(log), str(crash_at), str(batch_rows)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert child.returncode == 1, child.stderr
    handed_before = log.read_text(encoding="utf-8").split()
    assert handed_before == keys[:crash_at]
    crashed_key = keys[crash_at - 1]
    after_crash = statuses(Outbox(warehouse).rows(source=SOURCE))
    assert after_crash[crashed_key] == "sending"

    outbox = Outbox(warehouse)
    report = outbox.deliver(AppendingSender(log), source=SOURCE, run_id="rerun")

    handed = log.read_text(encoding="utf-8").split()
    assert sorted(handed) == keys and len(set(handed)) == len(handed)  # every key handed over exactly once
    final = statuses(outbox.rows(source=SOURCE))
    unknown = sorted(k for k, s in final.items() if s == "unknown")
    if batch_rows == 1:  # each result written before the next claim: only the row in flight is unknown
        assert unknown == [crashed_key]
        assert report.unknown == 1 and report.already_done == crash_at - 1
    else:  # results not yet written are lost with the process: those rows are unknown, and all were handed over
        assert crashed_key in unknown and set(unknown) <= set(handed_before)
        assert report.unknown == len(unknown)
    assert {k for k, s in final.items() if s == "sent"} == set(keys) - set(unknown)
    assert report.sent == len(keys) - crash_at
    rows = {r["idempotency_key"]: r for r in outbox.rows(source=SOURCE)}
    assert "crashed-run" in rows[crashed_key]["error"] and rows[crashed_key]["run_id"] == "crashed-run"
    assert all(rows[k]["provider_id"].startswith("wamid.child.") for k in keys[: crash_at - 1] if k not in unknown)

    again = outbox.deliver(AppendingSender(log), source=SOURCE, run_id="third")
    assert (again.sent, again.unknown) == (0, len(unknown))
    assert log.read_text(encoding="utf-8").split() == handed
