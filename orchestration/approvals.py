"""Campaign approvals: who approved which version of a draft, and when. No Dagster here.

A draft (``agents.campaign_drafts``, keyed by ``campaign_id`` and ``version``) is only ever sent after
a person approved that exact version: ``cro approve CAMPAIGN_ID --by NAME`` (or :func:`approve`)
records a row in ``agents.campaign_approvals``. A changed draft is a new version and needs its own
approval. The approval sensor asks :func:`approved_unsent` which approved versions have not been
handed to ``send_campaign`` yet; Dagster's run key (``send:<campaign>:<version>``) makes that
hand-over happen once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from orchestration.warehouse import Warehouse

SCHEMA = "agents"
DRAFTS = "campaign_drafts"
APPROVALS = "campaign_approvals"
APPROVALS_SCHEMA = pa.schema(
    [
        ("campaign_id", pa.string()),
        ("version", pa.string()),
        ("approved_by", pa.string()),
        ("approved_at", pa.timestamp("us", tz="UTC")),
        ("note", pa.string()),
    ]
)


class ApprovalError(ValueError):
    """The approval cannot be recorded; the message says why and what to do."""


@dataclass(frozen=True)
class Approval:
    campaign_id: str
    version: str
    approved_by: str
    approved_at: dt.datetime
    note: str = ""


def _placeholder(store: Warehouse) -> str:
    return "%s" if store.kind == "postgres" else "?"


_DRAFT_COLUMNS = (
    "campaign_id",
    "version",
    "segment",
    "channel",
    "audience_size",
    "schedule_at",
    "budget_brl",
    "proposed_at",
)


def _draft_rows(store: Warehouse, where: str = "", params: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    if not store.table_exists(SCHEMA, DRAFTS):
        return []
    rows = store.query(
        f"select {', '.join(_DRAFT_COLUMNS)} from {SCHEMA}.{DRAFTS} {where} "
        "order by campaign_id, proposed_at desc, version",
        params,
    )
    return [dict(zip(_DRAFT_COLUMNS, row, strict=True)) for row in rows]


def drafts(store: Warehouse, campaign_id: str) -> list[dict[str, Any]]:
    """The stored versions of a campaign, newest proposal first."""
    return _draft_rows(store, f"where campaign_id = {_placeholder(store)}", (campaign_id,))


def approvals(store: Warehouse, campaign_id: str | None = None) -> list[Approval]:
    if not store.table_exists(SCHEMA, APPROVALS):
        return []
    p = _placeholder(store)
    where, params = (f"where campaign_id = {p}", (campaign_id,)) if campaign_id else ("", ())
    rows = store.query(
        f"select campaign_id, version, approved_by, approved_at, note from {SCHEMA}.{APPROVALS} {where} "
        "order by approved_at, campaign_id, version",
        params,
    )
    return [Approval(str(c), str(v), str(b), a, n or "") for c, v, b, a, n in rows]


def approve(
    store: Warehouse,
    campaign_id: str,
    *,
    approved_by: str,
    version: str | None = None,
    note: str = "",
    now: dt.datetime | None = None,
) -> Approval:
    """Record that ``approved_by`` approved ``version`` (default: the newest proposal) of ``campaign_id``.

    Approving the same version twice keeps the first approval (who and when) and returns it.
    """
    if not approved_by.strip():
        raise ApprovalError("say who approves: --by NAME (recorded with the approval)")
    versions = drafts(store, campaign_id)
    if not versions:
        raise ApprovalError(
            f"no draft {campaign_id!r} in {SCHEMA}.{DRAFTS}: list the drafts with `cro approve --list` "
            "(the agents propose them: materialize agents/campaign_drafts)"
        )
    known = [str(v["version"]) for v in versions]
    chosen = version or known[0]
    if chosen not in known:
        raise ApprovalError(f"campaign {campaign_id!r} has no version {chosen!r}; its versions: {', '.join(known)}")
    existing = [a for a in approvals(store, campaign_id) if a.version == chosen]
    if existing:
        return existing[0]
    approval = Approval(campaign_id, chosen, approved_by.strip(), now or dt.datetime.now(dt.UTC), note)
    table = pa.Table.from_pylist(
        [
            {
                "campaign_id": approval.campaign_id,
                "version": approval.version,
                "approved_by": approval.approved_by,
                "approved_at": approval.approved_at,
                "note": approval.note,
            }
        ],
        schema=APPROVALS_SCHEMA,
    )
    store.merge(SCHEMA, APPROVALS, table, ["campaign_id", "version"], keep_existing=True)
    return approval


def pending(store: Warehouse) -> list[dict[str, Any]]:
    """Drafts whose newest version has no approval yet (what `cro approve --list` shows)."""
    approved = {(a.campaign_id, a.version) for a in approvals(store)}
    newest: dict[str, dict[str, Any]] = {}
    for record in _draft_rows(store):
        newest.setdefault(str(record["campaign_id"]), record)
    return [r for r in newest.values() if (str(r["campaign_id"]), str(r["version"])) not in approved]


def approved_unsent(store: Warehouse, handed_over: set[str]) -> list[Approval]:
    """Approvals whose ``send:<campaign>:<version>`` run key is not in ``handed_over``."""
    return [a for a in approvals(store) if run_key(a) not in handed_over]


def run_key(approval: Approval) -> str:
    return f"send:{approval.campaign_id}:{approval.version}"


__all__ = [
    "APPROVALS",
    "Approval",
    "ApprovalError",
    "approvals",
    "approve",
    "approved_unsent",
    "drafts",
    "pending",
    "run_key",
]
