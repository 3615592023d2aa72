"""Slack: report summaries and alerts posted to a channel with ``chat.postMessage`` (slack-sdk ``WebClient``).

:class:`SlackNotifier` is the outbox's Slack channel (:class:`~integrations.outbound.Sender`):
``send`` posts ``payload["text"]`` (and ``payload["blocks"]``) to ``message.recipient`` or
``payload["channel"]`` and returns the message ``ts`` as provider id. Rate limits and 5xx are
retried by slack-sdk's retry handlers, a bounded number of times; Slack's ``ok: false`` errors
(``channel_not_found``, ``not_in_channel``, ``invalid_auth``…) are permanent failures carrying the
error code. :func:`summary_blocks` builds the Block Kit for a report summary (header, key numbers,
links). Without a token, or with ``dry_run=True``, nothing is sent and the message comes back in
``SendResult.rendered``.

Public API::

    SlackNotifier(token, *, base_url=None, dry_run=False, max_retries=3, timeout=30)
    summary_blocks(title, lines, links) -> list[block]     # links: [(label, url), ...]
"""

from integrations.slack.blocks import summary_blocks
from integrations.slack.notifier import SlackNotifier

__all__ = ["SlackNotifier", "summary_blocks"]
