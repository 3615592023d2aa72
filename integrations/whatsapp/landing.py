"""The durable landing area between the webhook receiver and ingestion.

WhatsApp Cloud API has no "list messages" endpoint: events exist only as webhook POSTs, and Meta retries a POST until
it gets a 200. So the receiver's only job is to make each body durable (append + fsync) *before* answering, and
ingestion later reads whatever is new since its cursor. The demo world writes files in the same format, which keeps
demo and production on one code path.

Layout: one folder, one file per UTC day of receipt (``YYYY-MM-DD.jsonl``), one compact JSON body per line. Lines are
appended with a single ``write`` under a lock, so a reader sees whole lines plus at most one partial tail line, which
the cursor never consumes until its newline is there.

The cursor is ``{file name: byte offset consumed}``: plain JSON, so the loader can store it in the warehouse in the
same transaction as the rows it loaded, which makes re-runs idempotent.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import threading
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple, NoReturn

Cursor = dict[str, int]

FILE_NAME_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}\.jsonl$")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_SCAN_BLOCK = 1 << 16


class LandingError(RuntimeError):
    """The landing area is not in a state ingestion can trust (e.g. a file shrank below its cursor)."""


class LandingSlice(NamedTuple):
    """Bytes ``[start, end)`` of ``path``: only complete lines, not yet consumed by the cursor."""

    path: Path
    start: int
    end: int

    @property
    def size(self) -> int:
        """Number of bytes in the slice."""
        return self.end - self.start


def _reject_constant(name: str) -> NoReturn:
    """Python's json accepts NaN/Infinity, which are not JSON and which DuckDB would reject downstream."""
    raise ValueError(f"non-standard JSON constant {name}")


def to_landing_line(body: bytes | str | Mapping[str, Any]) -> bytes:
    """Serialize one webhook body as one compact JSON line (``\\n``-terminated UTF-8).

    Raw bodies are parsed and re-serialized so pretty-printed JSON still becomes exactly one line; JSON escapes any
    newline inside strings. Raises ``ValueError`` when ``body`` is not JSON.
    """
    parsed = json.loads(body, parse_constant=_reject_constant) if isinstance(body, bytes | str) else body
    text = json.dumps(parsed, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    try:
        encoded = text.encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate (legal as a \\ud800 escape in JSON, e.g. half an emoji) is not valid UTF-8 and DuckDB
        # rejects it even escaped; U+FFFD keeps the rest of the event loadable.
        encoded = _LONE_SURROGATE.sub("\ufffd", text).encode("utf-8")
    return encoded + b"\n"


def file_name_for(received_at: datetime) -> str:
    """The landing file for a receipt time: its UTC calendar day, so files never depend on the server's zone."""
    if received_at.tzinfo is None:
        raise ValueError("received_at must be timezone-aware")
    return received_at.astimezone(UTC).strftime("%Y-%m-%d") + ".jsonl"


class LandingArea:
    """Append-only JSONL files in ``root``; safe for concurrent appends from threads and processes on one host."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._lock = threading.Lock()

    def append(self, body: bytes | str | Mapping[str, Any], received_at: datetime) -> Path:
        """Durably append one webhook body; returns the file written. Raises ``ValueError`` for non-JSON bodies.

        The line is written with one ``write`` on an ``O_APPEND`` descriptor and fsynced before returning, so
        acknowledging the webhook afterwards cannot lose it. A thread lock plus ``flock`` serialize writers; under
        that lock, a file not ending in a newline can only be the tail of a writer that crashed mid-line, so it is
        terminated first and the fragment becomes one malformed line (quarantined by the parser) instead of
        corrupting this body.
        """
        line = to_landing_line(body)
        path = self.root / file_name_for(received_at)
        with self._lock:
            self.root.mkdir(parents=True, exist_ok=True)
            created = not path.exists()
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                size = os.fstat(fd).st_size
                if size and not _ends_with_newline(path, size):
                    line = b"\n" + line
                _write_all(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)  # closing releases the flock
            if created:
                _fsync_directory(self.root)
        return path

    def files(self) -> list[Path]:
        """Landing files in chronological order (the names sort by date)."""
        if not self.root.is_dir():
            return []
        return sorted(p for p in self.root.iterdir() if p.is_file() and FILE_NAME_PATTERN.match(p.name))

    def new_data_since(self, cursor: Mapping[str, int], max_bytes: int | None = None) -> list[LandingSlice]:
        """Slices of complete lines not yet consumed according to ``cursor``, oldest file first.

        A trailing line without its newline is still being written and is left for the next call. ``max_bytes``
        caps one batch (useful for backfills); it is cut at a line boundary, and always makes progress when a single
        line is longer than the cap. Raises ``LandingError`` if a file is shorter than its cursor: the area is
        append-only, so that means data was lost or replaced and silently re-reading would double count.
        """
        slices: list[LandingSlice] = []
        budget = max_bytes
        for path in self.files():
            start = int(cursor.get(path.name, 0))
            size = path.stat().st_size
            if size < start:
                raise LandingError(f"{path.name} has {size} bytes but the cursor says {start} were consumed")
            if size == start:
                continue
            if budget is not None and budget <= 0:
                break
            stop = size if budget is None else min(size, start + budget)
            with path.open("rb") as handle:
                end = _last_line_end(handle, start, stop)
                if end == start and stop < size:  # one line longer than the budget: take just that line
                    end = _first_line_end(handle, start, size)
            if end > start:
                slices.append(LandingSlice(path, start, end))
                if budget is not None:
                    budget -= end - start
        return slices


def advance_cursor(cursor: Mapping[str, int], slices: Iterable[LandingSlice | tuple[Path, int, int]]) -> Cursor:
    """The cursor after consuming ``slices``: a new dict, the input is left untouched.

    Refuses slices that do not start where the cursor stands, which would skip or re-read data.
    """
    advanced: Cursor = {name: int(offset) for name, offset in cursor.items()}
    for path, start, end in slices:
        name = Path(path).name
        if advanced.get(name, 0) != start:
            raise LandingError(f"slice {name}[{start}:{end}] does not start at the cursor ({advanced.get(name, 0)})")
        advanced[name] = end
    return advanced


def _ends_with_newline(path: Path, size: int) -> bool:
    with path.open("rb") as handle:
        handle.seek(size - 1)
        return handle.read(1) == b"\n"


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _fsync_directory(directory: Path) -> None:
    """Make a newly created file's directory entry durable too, not only its contents."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _first_line_end(handle: BinaryIO, start: int, stop: int) -> int:
    """Offset just after the first ``\\n`` in ``[start, stop)``, or ``start`` when there is none."""
    position = start
    handle.seek(start)
    while position < stop:
        block = handle.read(min(_SCAN_BLOCK, stop - position))
        if not block:
            break
        newline = block.find(b"\n")
        if newline >= 0:
            return position + newline + 1
        position += len(block)
    return start


def _last_line_end(handle: BinaryIO, start: int, stop: int) -> int:
    """Offset just after the last ``\\n`` in ``[start, stop)``, or ``start`` when there is none (scans backwards)."""
    position = stop
    while position > start:
        block_start = max(start, position - _SCAN_BLOCK)
        handle.seek(block_start)
        block = handle.read(position - block_start)
        newline = block.rfind(b"\n")
        if newline >= 0:
            return block_start + newline + 1
        position = block_start
    return start
