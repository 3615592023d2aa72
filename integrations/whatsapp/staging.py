"""Byte-level helpers for reading landing slices: copying a slice out, and splitting it into lines.

DuckDB reads whole files, while ingestion works on cursor slices of files that may still be growing; these helpers
bridge the two without ever reading past a slice's end.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pyarrow as pa

from integrations.whatsapp.landing import LandingSlice

# Lines are handled in batches of about this size: memory stays flat on backfills, and buffers this small are
# recycled by the allocator instead of being fresh (page-faulting) mappings each time, which is ~3x faster.
CHUNK_BYTES = 8 << 20
_NEWLINE = 10
_BLANK_LINE_MAX = 16  # bytes; longer lines are never treated as blank


@dataclass(frozen=True)
class StagedFile:
    """A source slice and the file DuckDB reads for it: the landing file itself, or a copy of exactly the slice."""

    index: int
    source: LandingSlice
    read_path: Path
    in_place: bool


def stage(slices: list[LandingSlice], tmp: Path, *, copy_all: bool) -> list[StagedFile]:
    """What DuckDB reads per slice: a whole file in place (free), else a kernel-side copy of just the slice."""
    staged: list[StagedFile] = []
    for index, piece in enumerate(slices):
        if not copy_all and piece.start == 0 and piece.end == piece.path.stat().st_size:
            staged.append(StagedFile(index, piece, piece.path, in_place=True))
            continue
        copy = tmp / f"slice-{index:05d}.jsonl"
        copy_range(piece.path, copy, piece.start, piece.end)
        staged.append(StagedFile(index, piece, copy, in_place=False))
    return staged


def grew_while_reading(staged: list[StagedFile]) -> bool:
    """True if a file read in place was appended to, in which case DuckDB may have read past the slice."""
    return any(item.in_place and item.source.path.stat().st_size != item.source.end for item in staged)


def copy_range(source: Path, target: Path, start: int, end: int) -> None:
    """Copy bytes ``[start, end)``, in the kernel where possible (``copy_file_range``), else through a buffer."""
    remaining = end - start
    with source.open("rb") as src, target.open("wb") as dst:
        if hasattr(os, "copy_file_range"):
            offset = start
            try:
                while remaining > 0:
                    copied = os.copy_file_range(src.fileno(), dst.fileno(), remaining, offset)
                    if copied == 0:
                        break
                    offset += copied
                    remaining -= copied
            except OSError:
                pass  # e.g. not supported between these filesystems: finish with a plain copy
        src.seek(end - remaining)
        dst.seek(end - start - remaining)
        while remaining > 0:
            block = src.read(min(remaining, 1 << 20))
            if not block:
                break
            dst.write(block)
            remaining -= len(block)
    if remaining:
        raise ValueError(f"{source.name} is shorter than the slice [{start}, {end})")


def chunks(piece: LandingSlice, chunk_bytes: int = CHUNK_BYTES) -> Iterator[tuple[bytes, int]]:
    """The slice as ``(bytes, file offset)`` chunks of about ``chunk_bytes`` that end on line boundaries."""
    with piece.path.open("rb") as handle:
        base = piece.start
        size = chunk_bytes
        while base < piece.end:
            handle.seek(base)
            data = handle.read(min(size, piece.end - base))
            if not data:
                raise ValueError(f"{piece.path.name} is shorter than the slice [{piece.start}, {piece.end})")
            at_end = base + len(data) >= piece.end
            cut = len(data) if at_end else data.rfind(b"\n") + 1
            if cut == 0:  # one line longer than a chunk: read a bigger one
                size *= 2
                continue
            yield (data if cut == len(data) else data[:cut]), base
            base += cut
            size = chunk_bytes


def split_lines(data: bytes) -> tuple[np.ndarray, pa.Table]:
    """Each line's start offset, and a table ``(row_index, line, invalid_utf8, blank)`` viewing ``data`` zero-copy.

    Lines keep their trailing newline (Arrow values must be contiguous); JSON treats it as whitespace. Invalid UTF-8
    is replaced for display and flagged. Blank lines are flagged because ``read_json`` skips them silently.
    """
    newlines = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == _NEWLINE)
    ends = newlines + 1
    if not len(ends) or ends[-1] != len(data):
        ends = np.append(ends, len(data))  # a last line without its newline (only in hand-made slices)
    starts = np.concatenate(([0], ends[:-1])).astype(np.int64)
    offsets = np.concatenate(([0], ends)).astype(np.int32)
    binary = pa.BinaryArray.from_buffers(pa.binary(), len(ends), [None, pa.py_buffer(offsets), pa.py_buffer(data)])
    blank = np.zeros(len(ends), dtype=bool)
    for row in np.flatnonzero(ends - starts <= _BLANK_LINE_MAX):  # only short lines can be blank
        blank[row] = not data[starts[row] : ends[row]].strip()
    try:
        text = binary.cast(pa.string())
        invalid = np.zeros(len(ends), dtype=bool)
    except pa.ArrowInvalid:
        text, invalid = _decode_each(binary)
    lines = pa.table(
        {
            "row_index": pa.array(np.arange(len(ends), dtype=np.int64)),
            "line": text,
            "invalid_utf8": pa.array(invalid),
            "blank": pa.array(blank),
        }
    )
    return starts, lines


def _decode_each(binary: pa.BinaryArray) -> tuple[pa.Array, np.ndarray]:
    decoded: list[str] = []
    flags: list[bool] = []
    for value in binary.to_pylist():
        try:
            decoded.append(value.decode("utf-8"))
            flags.append(False)
        except UnicodeDecodeError:
            decoded.append(value.decode("utf-8", errors="replace"))
            flags.append(True)
    return pa.array(decoded, pa.string()), np.array(flags, dtype=bool)


def write_without(out: BinaryIO, data: bytes, starts: np.ndarray, bad_rows: list[int]) -> None:
    """Write ``data`` minus the given lines (sorted row numbers), as a few large slices since bad lines are rare."""
    view = memoryview(data)
    position = 0
    for row in bad_rows:
        out.write(view[position : int(starts[row])])
        position = int(starts[row + 1]) if row + 1 < len(starts) else len(data)
    out.write(view[position:])
