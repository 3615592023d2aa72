"""Byte-level helpers: slices are copied and split exactly, never past their end."""

from __future__ import annotations

import io
from pathlib import Path

from integrations.whatsapp.landing import LandingSlice
from integrations.whatsapp.staging import chunks, copy_range, split_lines, stage, write_without

LINES = [b'{"a":1}\n', b"\n", b'{"b":"' + b"x" * 100 + b'"}\n', b"  \n", b'{"c":3}\n', b"\xff\xfe\n", b'{"d":4}\n']


def _file(tmp_path: Path) -> Path:
    path = tmp_path / "2025-05-12.jsonl"
    path.write_bytes(b"".join(LINES))
    return path


def test_copy_range_copies_exactly_the_slice(tmp_path: Path) -> None:
    path = _file(tmp_path)
    data = path.read_bytes()
    copy_range(path, tmp_path / "copy", 8, len(data) - 8)
    assert (tmp_path / "copy").read_bytes() == data[8:-8]


def test_stage_reads_whole_files_in_place_and_copies_partial_slices(tmp_path: Path) -> None:
    path = _file(tmp_path)
    size = path.stat().st_size
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    whole, part = stage([LandingSlice(path, 0, size), LandingSlice(path, 8, size)], scratch, copy_all=False)
    assert whole.in_place and whole.read_path == path
    assert not part.in_place and part.read_path.read_bytes() == path.read_bytes()[8:]


def test_chunks_end_on_line_boundaries_even_when_lines_exceed_the_chunk(tmp_path: Path) -> None:
    path = _file(tmp_path)
    data = path.read_bytes()
    pieces = list(chunks(LandingSlice(path, 8, len(data)), chunk_bytes=16))
    assert b"".join(piece for piece, _ in pieces) == data[8:]
    for piece, base in pieces:
        assert piece.endswith(b"\n")
        assert data[base : base + len(piece)] == piece


def test_split_lines_flags_blank_and_invalid_utf8_lines() -> None:
    data = b"".join(LINES)
    starts, table = split_lines(data)
    assert [data[s : s + len(line)] for s, line in zip(starts, LINES, strict=True)] == LINES
    assert table.column("blank").to_pylist() == [False, True, False, True, False, False, False]
    assert table.column("invalid_utf8").to_pylist() == [False, False, False, False, False, True, False]
    assert table.column("line").to_pylist()[0] == '{"a":1}\n'


def test_write_without_drops_only_the_given_lines() -> None:
    data = b"".join(LINES)
    starts, _ = split_lines(data)
    out = io.BytesIO()
    write_without(out, data, starts, [1, 5, 6])
    assert out.getvalue() == b"".join(line for i, line in enumerate(LINES) if i not in (1, 5, 6))
