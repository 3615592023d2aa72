"""Notion: publish markdown reports (growth briefs, media plans, the DRE) as database pages, one per key.

:class:`NotionPublisher` is the outbox's Notion channel (:class:`~integrations.outbound.Sender`):
``send`` finds the page whose ``Key`` property equals ``payload["key"]`` and updates it in place
(title, properties, body replaced), or creates it — never a second page for one key. Bodies are
converted by :func:`markdown_to_blocks` (headings, paragraphs, lists, quotes, code, GitHub tables
as Notion tables, ``<details>`` as toggles) within Notion's size limits. It runs on notion-client
3.1.0 (Notion-Version 2025-09-03: databases are reached through their data source). Without a token
or database id, or with ``dry_run=True``, nothing is sent and the markdown comes back in
``SendResult.rendered``.

Public API::

    NotionPublisher(token, database_id, *, base_url=None, dry_run=False, key_property="Key",
                    max_retries=4, backoff_factor=1.0, backoff_max=30.0, timeout=30.0, sleep=None)
    markdown_to_blocks(markdown) -> list[block]
"""

from integrations.notion.markdown import markdown_to_blocks
from integrations.notion.publisher import NotionPublisher

__all__ = ["NotionPublisher", "markdown_to_blocks"]
