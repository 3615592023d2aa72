"""Block Kit for a report summary: a header, the key numbers, and links to the full report.

Slack's limits are respected so a message never fails with ``invalid_blocks``: header text ≤ 150
characters, section text ≤ 3,000 (longer summaries become several sections), ≤ 10 elements per
context block. ``&``, ``<`` and ``>`` are escaped in mrkdwn, as Slack requires, so a number like
``<5%`` or a name with ``&`` shows as written.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

HEADER_LIMIT = 150
SECTION_LIMIT = 3000
CONTEXT_ELEMENTS = 10

Block = dict[str, Any]


def escape(text: str) -> str:
    """Text safe inside mrkdwn: Slack's three control characters escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def link(url: str, label: str) -> str:
    """An mrkdwn link ``<url|label>``; ``|`` and ``>`` cannot appear raw in the URL."""
    safe_url = url.replace("|", "%7C").replace(">", "%3E").replace("<", "%3C")
    return f"<{safe_url}|{escape(label)}>"


def summary_blocks(title: str, lines: list[str], links: list[tuple[str, str]]) -> list[Block]:
    """Header ``title``, one section with ``lines`` (one per line, mrkdwn), a context with ``links`` (label, url).

    ``lines`` are escaped, so write them as plain text (``*bold*`` and ``_italic_`` still work).
    """
    header = title if len(title) <= HEADER_LIMIT else title[: HEADER_LIMIT - 1] + "…"
    blocks: list[Block] = [{"type": "header", "text": {"type": "plain_text", "text": header, "emoji": True}}]
    for text in _sections([escape(line) for line in lines]):
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text}})
    for start in range(0, len(links), CONTEXT_ELEMENTS):
        chunk = links[start : start + CONTEXT_ELEMENTS]
        elements = [{"type": "mrkdwn", "text": link(url, label)} for label, url in chunk]
        blocks.append({"type": "context", "elements": elements})
    return blocks


def blocks_text(blocks: Sequence[Block]) -> str:
    """The readable text of a message's blocks (for the dry-run file and as fallback ``text``)."""
    out: list[str] = []
    for block in blocks:
        if isinstance(block.get("text"), dict):
            out.append(str(block["text"].get("text", "")))
        for field in block.get("fields") or []:
            out.append(str(field.get("text", "")))
        texts = [str(e.get("text", "")) for e in block.get("elements") or [] if isinstance(e, dict) and "text" in e]
        if texts:
            out.append("  ".join(texts))
    return "\n".join(part for part in out if part)


def _sections(lines: list[str]) -> list[str]:
    """``lines`` joined into texts of at most 3,000 characters, cutting between lines where possible."""
    out: list[str] = []
    current = ""
    for line in lines:
        while len(line) > SECTION_LIMIT:
            if current:
                out.append(current)
                current = ""
            out.append(line[:SECTION_LIMIT])
            line = line[SECTION_LIMIT:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > SECTION_LIMIT:
            out.append(current)
            candidate = line
        current = candidate
    if current:
        out.append(current)
    return out
