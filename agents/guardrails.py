"""Guardrails: business limits checked in code on every agent output, with facts from the marts.

Each ``check_*`` takes the output (and the facts it needs) and returns the list of what is wrong, in
words a model can act on when the runtime retries (empty list: valid). The ``*_rule(s)`` factories bind
the facts and return a one-argument validator for :meth:`agents.runtime.AgentRuntime.run`.

* budgets: allocations sum to at most the budget (and the cap), none negative;
* WhatsApp templates: only approved names (:mod:`agents.templates`), marketing category, pt_BR, and the
  copy is the approved body;
* segments: only segments that exist in ``marts.dim_segments``;
* audiences: at most the segment's contactable customers (``is_whatsapp_contactable``: opted in, not
  suppressed) for WhatsApp;
* numbers: every :class:`~agents.schemas.Figure` is re-run through the read-only SQL tool and must match
  within tolerance.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from agents.schemas import CampaignDraft, Figure, MediaPlan, RetentionPlan
from agents.sql_tool import SqlTool, SqlToolError
from agents.templates import DEFAULT_TEMPLATES, TemplateRegistry

DEFAULT_REL_TOL = 1e-3
DEFAULT_ABS_TOL = 0.005  # half a centavo / a rounding of 0.01 percentage points


@dataclass(frozen=True)
class SegmentFacts:
    customers: int
    whatsapp_contactable: int


@dataclass(frozen=True)
class MartFacts:
    """What the guardrails need to know from the marts."""

    segments: dict[str, SegmentFacts]

    SEGMENTS_SQL = (
        "select segment, count(*) as customers, "
        "sum(case when is_whatsapp_contactable then 1 else 0 end) as whatsapp_contactable "
        "from marts.dim_segments group by segment order by segment"
    )

    @classmethod
    def load(cls, sql: SqlTool) -> MartFacts:
        rows = sql.run(cls.SEGMENTS_SQL).rows
        return cls({str(s): SegmentFacts(int(n), int(c or 0)) for s, n, c in rows})


def _brl(value: float) -> str:
    return f"R$ {value:,.2f}"


def check_budget(plan: MediaPlan, cap_brl: float, *, tolerance_brl: float = 0.01) -> list[str]:
    errors: list[str] = []
    if plan.budget_brl > cap_brl + tolerance_brl:
        errors.append(f"budget_brl {_brl(plan.budget_brl)} is over the cap of {_brl(cap_brl)}")
    limit = min(plan.budget_brl, cap_brl)
    for a in plan.allocations:
        if a.budget_brl < 0 or not math.isfinite(a.budget_brl):
            errors.append(f"allocation for {a.channel!r} is {a.budget_brl}: allocations must be 0 or more")
    channels = [a.channel for a in plan.allocations]
    if len(set(channels)) != len(channels):
        errors.append("each channel may appear once in allocations")
    total = sum(a.budget_brl for a in plan.allocations)
    if total > limit + tolerance_brl:
        errors.append(f"allocations sum to {_brl(total)}, over the budget of {_brl(limit)}: reduce them")
    return errors


def check_segment(segment: str, facts: MartFacts) -> list[str]:
    if segment in facts.segments:
        return []
    return [f"segment {segment!r} does not exist; existing segments: {', '.join(sorted(facts.segments))}"]


def check_template(name: str, templates: TemplateRegistry = DEFAULT_TEMPLATES) -> list[str]:
    template = templates.get(name)
    approved = ", ".join(templates.names(category="MARKETING", language="pt_BR"))
    if template is None:
        return [f"WhatsApp template {name!r} is not approved; approved marketing templates: {approved}"]
    errors = []
    if template.category != "MARKETING":
        errors.append(f"template {name!r} is a {template.category} template, not a marketing one")
    if template.language != "pt_BR":
        errors.append(f"template {name!r} is in {template.language}, campaigns go out in pt_BR")
    return errors


def check_campaign(
    draft: CampaignDraft,
    facts: MartFacts,
    templates: TemplateRegistry = DEFAULT_TEMPLATES,
    *,
    budget_cap_brl: float | None = None,
) -> list[str]:
    errors = check_segment(draft.segment, facts)
    segment = facts.segments.get(draft.segment)
    if draft.channel == "whatsapp":
        for variant in draft.variants:
            name = variant.whatsapp_template or draft.whatsapp_template or ""
            template_errors = check_template(name, templates)
            errors.extend(template_errors)
            template = templates.get(name)
            body = template.body if template is not None and not template_errors else None
            if body is not None and variant.copy_pt_br.strip() != body.strip():
                errors.append(f"variant {variant.name}: WhatsApp copy must be the approved body of {name!r}: {body}")
        if segment is not None and draft.audience_size > segment.whatsapp_contactable:
            errors.append(
                f"audience_size {draft.audience_size} is more than the {segment.whatsapp_contactable} contactable "
                f"(opted-in, not suppressed) customers of {draft.segment!r}"
            )
    elif segment is not None and draft.audience_size > segment.customers:
        errors.append(
            f"audience_size {draft.audience_size} is more than the {segment.customers} customers of {draft.segment!r}"
        )
    if budget_cap_brl is not None and draft.budget_brl > budget_cap_brl + 0.01:
        errors.append(f"budget_brl {_brl(draft.budget_brl)} is over the cap of {_brl(budget_cap_brl)}")
    return errors


def check_retention_plan(plan: RetentionPlan, facts: MartFacts) -> list[str]:
    errors: list[str] = []
    for item in plan.items:
        segment_errors = check_segment(item.segment, facts)
        errors.extend(segment_errors)
        segment = facts.segments.get(item.segment)
        if segment is None:
            continue
        reachable = segment.whatsapp_contactable if item.channel == "whatsapp" else segment.customers
        if item.customers > reachable:
            errors.append(
                f"{item.segment}: {item.customers} customers, but only {reachable} are reachable on {item.channel}"
            )
    return errors


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def same_number(a: float | None, b: float | None, *, rel_tol: float, abs_tol: float) -> bool:
    """Equal within tolerance; two missing values are the same, one missing is not."""
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=rel_tol, abs_tol=abs_tol)


def check_figures(
    figures: Sequence[Figure], sql: SqlTool, *, rel_tol: float = DEFAULT_REL_TOL, abs_tol: float = DEFAULT_ABS_TOL
) -> list[str]:
    """Run each figure's query again and compare: the numbers must match the marts."""
    errors: list[str] = []
    with sql.session():
        for figure in figures:
            try:
                actual = _number(sql.scalar(figure.sql))
            except SqlToolError as exc:
                errors.append(f"figure {figure.label!r}: its query cannot be used: {exc}")
                continue
            if actual is None:
                errors.append(f"figure {figure.label!r}: its query returns no number")
            elif not math.isclose(figure.value, actual, rel_tol=rel_tol, abs_tol=abs_tol):
                errors.append(f"figure {figure.label!r} states {figure.value:g} but its query returns {actual:g}")
    return errors


# -- validator factories for AgentRuntime.run -------------------------------------------------------


def budget_rule(cap_brl: float) -> Callable[[MediaPlan], list[str]]:
    return lambda plan: check_budget(plan, cap_brl)


def campaign_rules(
    facts: MartFacts, templates: TemplateRegistry = DEFAULT_TEMPLATES, *, budget_cap_brl: float | None = None
) -> Callable[[CampaignDraft], list[str]]:
    return lambda draft: check_campaign(draft, facts, templates, budget_cap_brl=budget_cap_brl)


def retention_rules(facts: MartFacts) -> Callable[[RetentionPlan], list[str]]:
    return lambda plan: check_retention_plan(plan, facts)


def figures_rule(
    sql: SqlTool, *, rel_tol: float = DEFAULT_REL_TOL, abs_tol: float = DEFAULT_ABS_TOL
) -> Callable[[Any], list[str]]:
    """For any output with ``figures``."""
    return lambda output: check_figures(output.figures, sql, rel_tol=rel_tol, abs_tol=abs_tol)


def language_rule(language: str) -> Callable[[Any], list[str]]:
    """For any output with ``language``: it must be the request's."""

    def check(output: Any) -> list[str]:
        if output.language != language:
            return [f"answer in the request's language {language!r}, not {output.language!r}"]
        return []

    return check


__all__ = [
    "MartFacts",
    "SegmentFacts",
    "budget_rule",
    "campaign_rules",
    "check_budget",
    "check_campaign",
    "check_figures",
    "check_retention_plan",
    "check_segment",
    "check_template",
    "figures_rule",
    "language_rule",
    "retention_rules",
    "same_number",
]
