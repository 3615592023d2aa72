"""Markdown (as the agents write it) → Notion block objects, ready for ``pages.create`` / ``blocks.children.append``.

Supported: ``#`` / ``##`` / ``###`` headings (deeper levels become ``heading_3``), paragraphs (line
breaks kept), ``-`` / ``*`` / ``+`` bulleted and ``1.`` numbered lists with indented children
(nested lists, fenced code inside an item), ``>`` quotes, ``---`` dividers, fenced code blocks
(```` ``` ```` / ``~~~``, language mapped to Notion's list, else "plain text"), GitHub tables →
Notion ``table`` blocks with a column header, and ``<details><summary>…</summary>…</details>`` →
a ``toggle`` block holding the converted content. Inline syntax: see :mod:`.richtext`.

Notion's limits are respected here so a request never fails validation on size: rich text pieces
≤ 2,000 characters, rich text arrays ≤ 100 elements (longer text becomes several blocks), tables ≤
100 rows (longer ones are split, header repeated), and **at most two levels of nesting**, the most
one append request accepts: content nested deeper is lifted to the second level, in order, and a
table that would sit at the second level (its rows at the third) becomes a plain-text code block.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from integrations.notion.richtext import RichText, inline, plain, split, to_plain_text

Block = dict[str, Any]

MAX_CHILDREN = 100  # any array of block children in one request
MAX_TABLE_ROWS = MAX_CHILDREN  # a table's rows are its children, header row included

_FENCE = re.compile(r"^(?P<indent> *)(?P<fence>`{3,}|~{3,})\s*(?P<lang>[^`\s]*)")
_HEADING = re.compile(r"^ {0,3}(?P<hashes>#{1,6})\s+(?P<text>.*?)\s*#*\s*$")
_RULE = re.compile(r"^ {0,3}([-*_])( *\1){2,}\s*$")
_LIST = re.compile(r"^(?P<indent> *)(?P<marker>[-*+]|\d{1,9}[.)])(?P<space> +)(?P<text>.*)$")
_TABLE_SEPARATOR = re.compile(r"^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$")
_CELL_SPLIT = re.compile(r"(?<!\\)\|")
_DETAILS_OPEN = re.compile(r"<details\b[^>]*>", re.IGNORECASE)
_DETAILS_CLOSE = re.compile(r"</details\s*>", re.IGNORECASE)
_SUMMARY = re.compile(r"^\s*<summary>(?P<text>.*?)</summary>", re.IGNORECASE | re.DOTALL)
_STRAY_HTML = re.compile(r"^\s*(</?(details|summary)\b[^>]*>|<!--.*-->)\s*$", re.IGNORECASE)

# Notion's code block languages (a closed list: anything else is a validation error), plus aliases.
_LANGUAGES = frozenset(
    (
        *("bash", "c", "c#", "c++", "css", "diff", "docker", "go", "graphql", "html", "java", "javascript"),
        *("json", "kotlin", "latex", "makefile", "markdown", "mermaid", "php", "powershell", "python", "r"),
        *("ruby", "rust", "scala", "shell", "sql", "swift", "typescript", "xml", "yaml"),
    )
)
_LANGUAGE_ALIASES = {
    "py": "python",
    "sh": "shell",
    "zsh": "shell",
    "console": "shell",
    "yml": "yaml",
    "js": "javascript",
    "ts": "typescript",
    "md": "markdown",
    "dockerfile": "docker",
    "cpp": "c++",
    "csharp": "c#",
}


def markdown_to_blocks(markdown: str) -> list[Block]:
    """Notion block objects for ``markdown``, at most two levels deep (see the module doc)."""
    lines = markdown.replace("\r\n", "\n").replace("\r", "\n").expandtabs(4).split("\n")
    return _fit_depth(_parse(lines))


def block_count(block: Block) -> int:
    """How many block elements a block is in a request (itself and every nested child)."""
    children = block[block["type"]].get("children") or []
    return 1 + sum(block_count(child) for child in children)


# --- block parsing -----------------------------------------------------------------------------


def _parse(lines: Sequence[str]) -> list[Block]:
    out: list[Block] = []
    paragraph: list[str] = []

    def flush() -> None:
        if paragraph:
            out.extend(_text_blocks("paragraph", inline("\n".join(paragraph))))
            paragraph.clear()

    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            flush()
            i += 1
            continue
        parsed = _block_at(lines, i)
        if parsed is None:
            paragraph.append(line.strip())
            i += 1
            continue
        flush()
        blocks, i = parsed
        out.extend(blocks)
    flush()
    return out


def _block_at(lines: Sequence[str], i: int) -> tuple[list[Block], int] | None:
    """The block(s) starting at line ``i`` and the index after them, or None for a paragraph line."""
    line = lines[i]
    if fence := _FENCE.match(line):
        return _code(lines, i, fence)
    if _DETAILS_OPEN.match(line.strip()):
        return _details(lines, i)
    if _STRAY_HTML.match(line):
        return [], i + 1
    if heading := _HEADING.match(line):
        level = min(len(heading["hashes"]), 3)
        return _text_blocks(f"heading_{level}", inline(heading["text"])), i + 1
    if _RULE.match(line):
        return [{"type": "divider", "divider": {}}], i + 1
    if "|" in line and i + 1 < len(lines) and "-" in lines[i + 1] and _TABLE_SEPARATOR.match(lines[i + 1]):
        return _table(lines, i)
    if item := _LIST.match(line):
        return _list_item(lines, i, item)
    if line.lstrip().startswith(">"):
        return _quote(lines, i)
    return None


def _code(lines: Sequence[str], i: int, fence: re.Match[str]) -> tuple[list[Block], int]:
    indent, marker = len(fence["indent"]), fence["fence"]
    body: list[str] = []
    j = i + 1
    while j < len(lines):
        stripped = lines[j].strip()
        if stripped.startswith(marker[0] * len(marker)) and not stripped.strip(marker[0]):
            j += 1
            break
        body.append(_dedent(lines[j], indent))
        j += 1
    language = _language(fence["lang"])
    return _text_blocks("code", plain("\n".join(body)), {"language": language}), j


def _details(lines: Sequence[str], i: int) -> tuple[list[Block], int]:
    depth, j, body = 0, i, []
    while j < len(lines):
        depth += len(_DETAILS_OPEN.findall(lines[j])) - len(_DETAILS_CLOSE.findall(lines[j]))
        body.append(lines[j])
        j += 1
        if depth <= 0:
            break
    text = _DETAILS_OPEN.sub("", "\n".join(body), count=1)
    closes = list(_DETAILS_CLOSE.finditer(text))
    if closes:
        last = closes[-1]
        text = text[: last.start()] + text[last.end() :]
    summary_text = "Details"
    if summary := _SUMMARY.match(text):
        summary_text = summary["text"].strip() or summary_text
        text = text[summary.end() :]
    toggle = _text_blocks("toggle", inline(summary_text), children=_parse(text.split("\n")))
    return toggle, j


def _table(lines: Sequence[str], i: int) -> tuple[list[Block], int]:
    header = _cells(lines[i])
    rows: list[list[str]] = []
    j = i + 2
    while j < len(lines) and lines[j].strip() and "|" in lines[j]:
        rows.append(_cells(lines[j]))
        j += 1
    width = len(header)
    blocks = []
    per_table = MAX_TABLE_ROWS - 1
    for start in range(0, max(len(rows), 1), per_table):
        chunk = [header, *rows[start : start + per_table]]
        children = [{"type": "table_row", "table_row": {"cells": _row(cells, width)}} for cells in chunk]
        table = {"table_width": width, "has_column_header": True, "has_row_header": False, "children": children}
        blocks.append({"type": "table", "table": table})
    return blocks, j


def _cells(line: str) -> list[str]:
    text = line.strip()
    text = text[1:] if text.startswith("|") else text
    text = text[:-1] if text.endswith("|") and not text.endswith("\\|") else text
    return [cell.strip() for cell in _CELL_SPLIT.split(text)]


def _row(cells: list[str], width: int) -> list[RichText]:
    padded = (cells + [""] * width)[:width]
    return [inline(cell)[:100] for cell in padded]


def _list_item(lines: Sequence[str], i: int, item: re.Match[str]) -> tuple[list[Block], int]:
    indent = len(item["indent"])
    content_column = indent + len(item["marker"]) + min(len(item["space"]), 4)
    body: list[str] = []
    j = i + 1
    while j < len(lines):
        if lines[j].strip():
            if _indent(lines[j]) <= indent:
                break
            body.append(_dedent(lines[j], content_column))
            j += 1
            continue
        following = next((k for k in range(j, len(lines)) if lines[k].strip()), None)
        if following is None or _indent(lines[following]) <= indent:
            break
        body.append("")
        j += 1
    kind = "numbered_list_item" if item["marker"][0].isdigit() else "bulleted_list_item"
    return _text_blocks(kind, inline(item["text"]), children=_parse(body)), j


def _quote(lines: Sequence[str], i: int) -> tuple[list[Block], int]:
    body: list[str] = []
    j = i
    while j < len(lines) and lines[j].lstrip().startswith(">"):
        body.append(re.sub(r"^\s*> ?", "", lines[j]))
        j += 1
    return _text_blocks("quote", inline("\n".join(body).strip())), j


def _text_blocks(
    kind: str, rich_text: RichText, extra: dict[str, Any] | None = None, children: list[Block] | None = None
) -> list[Block]:
    """One block of ``kind`` per 100 rich text elements; children go to the last one. Empty text: no block."""
    if not rich_text and not children:
        return []
    parts = split(rich_text)
    blocks: list[Block] = [{"type": kind, kind: {"rich_text": part, **(extra or {})}} for part in parts]
    if children:
        blocks[-1][kind]["children"] = children
    return blocks


def _language(name: str) -> str:
    name = name.lower()
    name = _LANGUAGE_ALIASES.get(name, name)
    return name if name in _LANGUAGES else "plain text"


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _dedent(line: str, columns: int) -> str:
    return line[min(columns, _indent(line)) :]


# --- nesting limit -------------------------------------------------------------------------------


def _fit_depth(blocks: list[Block]) -> list[Block]:
    """Top-level blocks keep one level of children, at most 100; deeper content is lifted into that level.

    Children beyond the 100 one request accepts under a parent follow the parent at the top level.
    """
    out: list[Block] = []
    for block in blocks:
        out.append(block)
        body = block[block["type"]]
        if block["type"] == "table" or not body.get("children"):
            continue
        children = _flatten(body["children"])
        body["children"] = children[:MAX_CHILDREN]
        out.extend(children[MAX_CHILDREN:])
    return out


def _flatten(blocks: list[Block]) -> list[Block]:
    out: list[Block] = []
    for block in blocks:
        if block["type"] == "table":
            out.extend(_table_as_code(block))
            continue
        body = block[block["type"]]
        children = body.pop("children", None) or []
        out.append(block)
        out.extend(_flatten(children))
    return out


def _table_as_code(block: Block) -> list[Block]:
    rows = [" | ".join(to_plain_text(cell) for cell in row["table_row"]["cells"]) for row in block["table"]["children"]]
    return _text_blocks("code", plain("\n".join(rows)), {"language": "plain text"})


__all__ = ["Block", "block_count", "markdown_to_blocks"]
