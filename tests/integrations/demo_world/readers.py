"""Independent readers for the demo world's files, written from the documented formats.

The tests re-derive the ground truth from the files with these plain-Python readers (json, csv,
zoneinfo) rather than with the generator's own code, so a bug in the generator cannot hide itself.
"""

from __future__ import annotations

import csv
import json
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

SAO_PAULO = ZoneInfo("America/Sao_Paulo")
EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")
PHONE_CHARS = re.compile(r"^[0-9+()\s.-]+$")
PHONE_DIGITS = re.compile(r"^(55)?[1-9][0-9]9?[0-9]{8}$")
AMOUNT = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
OPT_OUT_WORDS = {"SAIR", "PARAR", "STOP"}


@dataclass(frozen=True)
class PageLine:
    number: int  # 1-based line number
    page: dict[str, Any] | None  # None when the line is not valid JSON (truncated page)
    raw: bytes


def read_page_lines(path: Path) -> list[PageLine]:
    lines = []
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                page = json.loads(raw)
            except ValueError:
                page = None
            lines.append(PageLine(number, page, raw))
    return lines


def objects(lines: list[PageLine]) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for every object on every parseable page."""
    for line in lines:
        if line.page is not None:
            for record in line.page["results"]:
                yield line.number, record


def read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def webhook_bodies(folder: Path) -> Iterator[tuple[str, int, dict[str, Any]]]:
    """(file name, 1-based line, body) for every webhook POST body, files in name order."""
    for path in sorted(folder.glob("*.jsonl")):
        with path.open("rb") as handle:
            for number, raw in enumerate(handle, start=1):
                yield path.name, number, json.loads(raw)


def cents(text: str) -> int:
    return int(Decimal(text) * 100)


def local_date(iso_utc: str) -> date:
    """São Paulo calendar date of a HubSpot UTC timestamp ("2025-01-05T13:22:10.123Z")."""
    moment = datetime.fromisoformat(iso_utc.replace("Z", "+00:00"))
    return moment.astimezone(SAO_PAULO).date()


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def add_months(month: str, k: int) -> str:
    year, mon = (int(part) for part in month.split("-"))
    index = year * 12 + mon - 1 + k
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def normalize_reply(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    kept = "".join(c if c.isalnum() else " " if c.isspace() else "" for c in decomposed if not unicodedata.combining(c))
    return " ".join(kept.split()).upper()


def is_opt_out(text: str) -> bool:
    return normalize_reply(text) in OPT_OUT_WORDS


def valid_phone(text: str | None) -> bool:
    if not text or not PHONE_CHARS.match(text):
        return False
    return bool(PHONE_DIGITS.match(re.sub(r"[^0-9]", "", text)))


def valid_amount(text: str | None, *, signed: bool = False) -> bool:
    if text is None or not AMOUNT.match(text):
        return False
    return signed or not text.startswith("-")
