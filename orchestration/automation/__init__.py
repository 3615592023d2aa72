"""Jobs that act: send an approved campaign, publish reports, sync the CRM, the monthly playbooks.

Every outbound action goes through the outbox (``orchestration/outbound``): one row per idempotency
key, so a retried or restarted job never sends twice, and a per-row log says what happened.
"""
