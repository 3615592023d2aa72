"""Inline markdown → Notion rich text, cut to Notion's size limits.

Notion rejects (``400 validation_error``) a rich text object whose ``text.content`` is longer than
2,000 characters, a ``text.link.url`` longer than 2,000, and any rich text array with more than 100
elements. Notion counts characters as JavaScript does (UTF-16 code units), so an emoji costs two:
chunks here are measured the same way.

Inline syntax understood: ``**bold**`` / ``__bold__``, ``*italic*`` / ``_italic_``, ``~~strike~~``,
`` `code` ``, ``[label](https://…)`` and backslash escapes. Links whose target is not http(s) or
mailto are kept as plain text (Notion refuses relative URLs).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

TEXT_LIMIT = 2000  # characters (UTF-16 code units) per rich text object
ARRAY_LIMIT = 100  # elements per rich text array
URL_LIMIT = 2000

RichText = list[dict[str, Any]]

_INLINE = re.compile(
    r"\\(?P<escaped>[\\`*_{}\[\]()#+\-.!|~>])"
    r"|`(?P<code>[^`]+)`"
    r"|\*\*(?P<bold>.+?)\*\*"
    r"|(?<![\w])__(?P<bold2>.+?)__(?![\w])"
    r"|~~(?P<strike>.+?)~~"
    r"|\[(?P<label>[^\]]+)\]\((?P<url>[^)\s]+)\)"
    r"|(?<![\w*])\*(?![\s*])(?P<italic>.+?)(?<![\s*])\*(?![\w*])"
    r"|(?<![\w])_(?![\s_])(?P<italic2>.+?)(?<![\s_])_(?![\w])",
    re.DOTALL,
)
_LINK_SCHEMES = ("http://", "https://", "mailto:")


def utf16_len(text: str) -> int:
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def chunks(text: str, limit: int = TEXT_LIMIT) -> Iterator[str]:
    """``text`` in pieces of at most ``limit`` UTF-16 code units, never splitting a character."""
    if utf16_len(text) <= limit:
        yield text
        return
    start, size = 0, 0
    for index, ch in enumerate(text):
        cost = 2 if ord(ch) > 0xFFFF else 1
        if size + cost > limit:
            yield text[start:index]
            start, size = index, 0
        size += cost
    if start < len(text):
        yield text[start:]


def plain(text: str) -> RichText:
    """``text`` as unformatted rich text (no markdown parsing), chunked."""
    return [_item(piece, {}, None) for piece in chunks(text)] if text else []


def inline(text: str) -> RichText:
    """Inline markdown as a Notion rich text array, chunked (the array may exceed 100: see :func:`split`)."""
    spans: list[tuple[str, dict[str, bool], str | None]] = []
    _parse(text, {}, None, spans)
    merged: list[tuple[str, dict[str, bool], str | None]] = []
    for content, styles, url in spans:
        if merged and merged[-1][1] == styles and merged[-1][2] == url:
            merged[-1] = (merged[-1][0] + content, styles, url)
        elif content:
            merged.append((content, styles, url))
    return [_item(piece, styles, url) for content, styles, url in merged for piece in chunks(content)]


def split(rich_text: RichText, limit: int = ARRAY_LIMIT) -> list[RichText]:
    """A rich text array in arrays of at most ``limit`` elements (one per block that will hold it)."""
    return [rich_text[i : i + limit] for i in range(0, len(rich_text), limit)] or [[]]


def to_plain_text(rich_text: RichText) -> str:
    return "".join(item["text"]["content"] for item in rich_text)


def _parse(
    text: str, styles: dict[str, bool], url: str | None, out: list[tuple[str, dict[str, bool], str | None]]
) -> None:
    position = 0
    for match in _INLINE.finditer(text):
        out.append((text[position : match.start()], styles, url))
        position = match.end()
        groups = match.groupdict()
        if groups["escaped"] is not None:
            out.append((groups["escaped"], styles, url))
        elif groups["code"] is not None:
            out.append((groups["code"], {**styles, "code": True}, url))
        elif groups["label"] is not None:
            target = groups["url"]
            usable = target.startswith(_LINK_SCHEMES) and len(target) <= URL_LIMIT
            _parse(groups["label"], styles, target if usable else url, out)
        else:
            name, inner = _style(groups)
            _parse(inner, {**styles, name: True}, url, out)
    out.append((text[position:], styles, url))


_STYLES = (
    ("bold", "bold"),
    ("bold2", "bold"),
    ("strike", "strikethrough"),
    ("italic", "italic"),
    ("italic2", "italic"),
)


def _style(groups: dict[str, str | None]) -> tuple[str, str]:
    """The annotation a styled match adds, and the text inside it."""
    return next((name, groups[group] or "") for group, name in _STYLES if groups[group] is not None)


def _item(content: str, styles: dict[str, bool], url: str | None) -> dict[str, Any]:
    text: dict[str, Any] = {"content": content}
    if url:
        text["link"] = {"url": url}
    item: dict[str, Any] = {"type": "text", "text": text}
    if styles:
        item["annotations"] = dict(styles)
    return item
