"""Landing area: durable one-line appends per UTC day, and a cursor that only ever hands out complete lines."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from integrations.whatsapp.landing import (
    LandingArea,
    LandingError,
    LandingSlice,
    advance_cursor,
    file_name_for,
    to_landing_line,
)
from integrations.whatsapp.parse import parse_landing
from tests.integrations.whatsapp.factories import T0, inbound, status

SAO_PAULO = timezone(timedelta(hours=-3))


def _read_slices(slices: list[LandingSlice]) -> list[bytes]:
    lines: list[bytes] = []
    for path, start, end in slices:
        with path.open("rb") as handle:
            handle.seek(start)
            lines.extend(handle.read(end - start).splitlines())
    return lines


def test_append_writes_one_compact_line_per_body(tmp_path: Path) -> None:
    landing = LandingArea(tmp_path / "landing")
    pretty = json.dumps(status("wamid.A", "sent"), indent=2, ensure_ascii=False).encode()
    path = landing.append(pretty, T0)
    landing.append(status("wamid.B", "read"), T0)

    assert path == tmp_path / "landing" / "2025-05-12.jsonl"
    lines = path.read_bytes().splitlines()
    assert len(lines) == 2
    assert json.loads(lines[0]) == json.loads(pretty)
    assert b"\n" not in lines[0] and b": " not in lines[0]


def test_text_keeps_unicode_and_escapes_embedded_newlines() -> None:
    body = {"text": "Olá, ração\nsegunda linha"}
    encoded = to_landing_line(body)
    assert encoded.count(b"\n") == 1 and encoded.endswith(b"\n")
    assert "ração".encode() in encoded
    assert json.loads(encoded) == body


@pytest.mark.parametrize("bad", [b"not json", b'{"a": NaN}', b'{"a":', b""])
def test_non_json_is_refused(tmp_path: Path, bad: bytes) -> None:
    landing = LandingArea(tmp_path)
    with pytest.raises(ValueError):
        landing.append(bad, T0)
    assert landing.files() == []


def test_file_is_the_utc_day_of_receipt() -> None:
    # 22:30 in São Paulo on the 12th is already the 13th in UTC.
    assert file_name_for(datetime(2025, 5, 12, 22, 30, tzinfo=SAO_PAULO)) == "2025-05-13.jsonl"
    with pytest.raises(ValueError):
        file_name_for(datetime(2025, 5, 12, 22, 30))


def test_cursor_advances_and_rereading_returns_nothing(tmp_path: Path) -> None:
    landing = LandingArea(tmp_path)
    landing.append(status("wamid.A", "sent"), T0)
    landing.append(status("wamid.A", "delivered"), T0 + timedelta(days=1))

    first = landing.new_data_since({})
    assert [piece.path.name for piece in first] == ["2025-05-12.jsonl", "2025-05-13.jsonl"]
    assert all(piece.start == 0 and piece.end == piece.path.stat().st_size for piece in first)
    cursor = advance_cursor({}, first)
    assert cursor == {piece.path.name: piece.end for piece in first}
    assert json.loads(json.dumps(cursor)) == cursor  # storable as plain JSON
    assert landing.new_data_since(cursor) == []

    landing.append(status("wamid.A", "read"), T0 + timedelta(days=1))
    second = landing.new_data_since(cursor)
    assert [(piece.path.name, piece.start) for piece in second] == [("2025-05-13.jsonl", cursor["2025-05-13.jsonl"])]
    assert [
        json.loads(raw)["entry"][0]["changes"][0]["value"]["statuses"][0]["status"] for raw in _read_slices(second)
    ] == ["read"]
    assert landing.new_data_since(advance_cursor(cursor, second)) == []


def test_partial_last_line_is_not_consumed_until_complete(tmp_path: Path) -> None:
    landing = LandingArea(tmp_path)
    path = landing.append(status("wamid.A", "sent"), T0)
    complete = path.stat().st_size
    pending = json.dumps(status("wamid.A", "delivered"), separators=(",", ":")).encode()
    with path.open("ab") as handle:  # a writer caught mid-line
        handle.write(pending[:25])

    slices = landing.new_data_since({})
    assert slices == [LandingSlice(path, 0, complete)]
    cursor = advance_cursor({}, slices)
    assert landing.new_data_since(cursor) == []

    with path.open("ab") as handle:
        handle.write(pending[25:] + b"\n")
    rest = landing.new_data_since(cursor)
    assert rest == [LandingSlice(path, complete, path.stat().st_size)]
    assert _read_slices(rest) == [pending]


def test_append_after_a_crashed_partial_write_keeps_the_new_line_intact(tmp_path: Path) -> None:
    landing = LandingArea(tmp_path)
    path = landing.append(status("wamid.A", "sent"), T0)
    with path.open("ab") as handle:
        handle.write(b'{"object":"whatsapp_busi')  # the previous process died here
    landing.append(status("wamid.B", "sent"), T0)
    lines = path.read_bytes().splitlines()
    assert lines[1] == b'{"object":"whatsapp_busi'
    assert json.loads(lines[2])["entry"][0]["changes"][0]["value"]["statuses"][0]["id"] == "wamid.B"


def test_max_bytes_cuts_batches_on_line_boundaries(tmp_path: Path) -> None:
    landing = LandingArea(tmp_path)
    for i in range(10):
        landing.append(status(f"wamid.{i}", "sent"), T0)
    line_size = len(landing.files()[0].read_bytes().splitlines()[0]) + 1

    cursor: dict[str, int] = {}
    seen: list[bytes] = []
    while slices := landing.new_data_since(cursor, max_bytes=int(line_size * 3.5)):
        assert sum(piece.size for piece in slices) == 3 * line_size or slices[0].end == slices[0].path.stat().st_size
        seen.extend(_read_slices(slices))
        cursor = advance_cursor(cursor, slices)
    assert len(seen) == 10

    # A budget smaller than one line still makes progress.
    assert landing.new_data_since({}, max_bytes=5)[0].size == line_size


def test_concurrent_appends_never_interleave(tmp_path: Path) -> None:
    landing = LandingArea(tmp_path)
    now = datetime(2025, 5, 12, 12, tzinfo=UTC)

    def writer(worker: int) -> None:
        for i in range(50):
            landing.append(status(f"wamid.{worker}.{i}", "sent", biz_opaque_callback_data="x" * 5000), now)

    threads = [threading.Thread(target=writer, args=(worker,)) for worker in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    lines = landing.files()[0].read_bytes().splitlines()
    assert len(lines) == 400
    assert len({json.loads(raw)["entry"][0]["changes"][0]["value"]["statuses"][0]["id"] for raw in lines}) == 400


def test_a_file_shorter_than_its_cursor_is_an_error(tmp_path: Path) -> None:
    landing = LandingArea(tmp_path)
    path = landing.append(status("wamid.A", "sent"), T0)
    with pytest.raises(LandingError):
        landing.new_data_since({path.name: path.stat().st_size + 10})


def test_advance_cursor_refuses_gaps(tmp_path: Path) -> None:
    path = tmp_path / "2025-05-12.jsonl"
    with pytest.raises(LandingError):
        advance_cursor({"2025-05-12.jsonl": 100}, [(path, 150, 200)])
    assert advance_cursor({"2025-05-12.jsonl": 100}, [(path, 100, 200)]) == {"2025-05-12.jsonl": 200}


def test_unrelated_files_are_ignored(tmp_path: Path) -> None:
    landing = LandingArea(tmp_path)
    (tmp_path / "notes.txt").write_text("hello\n")
    (tmp_path / "2025-05-12.jsonl.tmp").write_text("{}\n")
    assert landing.new_data_since({}) == []


def test_a_lone_surrogate_is_replaced_so_the_event_stays_loadable(tmp_path: Path) -> None:
    raw = json.dumps(inbound("wamid.S", "PLACEHOLDER")).replace("PLACEHOLDER", "\\ud800 oi \\ud83d\\ude00").encode()
    landing = LandingArea(tmp_path)
    landing.append(raw, T0)
    parsed = parse_landing(landing.files())
    assert parsed.rejected.num_rows == 0
    assert parsed.messages.column("text_body").to_pylist() == ["\ufffd oi \U0001f600"]
