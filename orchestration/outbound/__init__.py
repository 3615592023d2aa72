"""Outbound messages, exactly once: the consent ledger, the outbox, and campaigns as messages. No Dagster here.

* :mod:`orchestration.outbound.consent` — ``consent.ledger`` and the suppression list (LGPD);
* :mod:`orchestration.outbound.outbox` — ``outbox.messages``, one row per idempotency key, and the delivery
  loop that hands each row to a channel at most once;
* :mod:`orchestration.outbound.campaign` — an approved campaign's audience, A/B variants and messages.
"""
