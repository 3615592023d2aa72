"""An approved campaign draft as outbox messages: its audience, each contact's A/B variant, the payloads.

* :func:`audience` reads the marts *at send time*: WhatsApp — the segment's rows of ``marts.dim_segments``
  that are ``is_whatsapp_contactable`` (opted in, a wa_id, no opt-out after the opt-in), with their
  ``wa_id``; e-mail — the segment's customers in ``marts.dim_customers`` with an e-mail address. First
  names come from ``dim_customers``. Ordered by ``customer_id``, one contact per address (the lowest
  customer id keeps a shared phone or e-mail), the first ``draft.audience_size`` kept. The consent ledger
  is checked later, per message, by the outbox.
* :func:`assign_variant` — A or B from the parity of ``sha256(campaign_id + ":" + contact_id)``: the same
  contact always gets the same variant of a campaign (a re-run, a new version), about half get each.
* :func:`campaign_messages` — one :class:`~integrations.outbound.OutboundMessage` per recipient, key
  ``campaign:<campaign_id>:<version>:<contact_id>:<channel>``; the outbox source is
  :func:`campaign_source` ``campaign:<campaign_id>:<version>``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from agents.schemas import CampaignDraft, CampaignVariant
from agents.templates import DEFAULT_TEMPLATES, PLACEHOLDER, ApprovedTemplate, TemplateRegistry
from integrations.outbound import OutboundMessage
from orchestration.outbound._sql import sql
from orchestration.outbound.consent import normalize_address
from orchestration.warehouse import Warehouse

#: The first-name parameter when the CRM has no first name.
FALLBACK_FIRST_NAME = "cliente"


@dataclass(frozen=True)
class Recipient:
    contact_id: str
    address: str  # wa_id (phone digits) or e-mail address
    first_name: str | None


def audience(warehouse: Warehouse, draft: CampaignDraft) -> list[Recipient]:
    """Who receives ``draft``: its segment's contactable customers on its channel, at most ``audience_size``."""
    if draft.channel == "whatsapp":
        statement = (
            "select s.customer_id, s.wa_id, c.first_name from marts.dim_segments s "
            "left join marts.dim_customers c on c.customer_id = s.customer_id "
            "where s.segment = ? and s.is_whatsapp_contactable and s.wa_id is not null "
            "order by s.customer_id"
        )
    else:
        statement = (
            "select customer_id, email, first_name from marts.dim_customers "
            "where segment = ? and email is not null order by customer_id"
        )
    recipients: list[Recipient] = []
    seen: set[str] = set()
    for customer_id, address, first_name in warehouse.query(sql(warehouse, statement), (draft.segment,)):
        if len(recipients) >= draft.audience_size:
            break
        normalized = normalize_address(draft.channel, str(address))
        if not normalized or normalized in seen or (draft.channel == "email" and "@" not in normalized):
            continue
        seen.add(normalized)
        address = normalized if draft.channel == "whatsapp" else str(address).strip()
        recipients.append(Recipient(contact_id=str(customer_id), address=address, first_name=first_name))
    return recipients


def assign_variant(campaign_id: str, contact_id: str) -> Literal["A", "B"]:
    """A when ``sha256(campaign_id + ":" + contact_id)`` is even, B when it is odd."""
    digest = hashlib.sha256(f"{campaign_id}:{contact_id}".encode()).digest()
    return "A" if digest[-1] % 2 == 0 else "B"


def campaign_source(campaign_id: str, version: str) -> str:
    """The outbox ``source`` of one campaign version."""
    return f"campaign:{campaign_id}:{version}"


def campaign_messages(
    draft: CampaignDraft,
    version: str,
    recipients: Sequence[Recipient],
    templates: TemplateRegistry = DEFAULT_TEMPLATES,
) -> list[OutboundMessage]:
    """One message per recipient, in the recipients' order, with the contact's variant.

    WhatsApp payload: ``template`` (the variant's approved template, else the draft's), ``language``
    (pt_BR), ``body_parameters`` ``[first name or "cliente"]``, ``body`` (the approved body, ``{{1}}``
    unfilled: the channel renders it), plus ``variant``, ``contact_id``, ``campaign_id``, ``campaign_version``
    and ``biz_opaque_callback_data`` (``campaign=<id>;variant=<A|B>``, which the status webhooks carry back
    for attribution). A template whose body has a placeholder other than ``{{1}}`` is refused (ValueError):
    the marts know only the first name, and the Cloud API would refuse every such message (132000).

    E-mail payload: ``subject`` and ``text`` (the variant's copy, ``{{1}}`` filled with the first name),
    plus the same ``variant``/``contact_id``/``campaign_id``/``campaign_version``.
    """
    variants = {v.name: v for v in draft.variants}
    bodies = {}
    if draft.channel == "whatsapp":
        bodies = {name: _whatsapp_body(draft, variant, templates) for name, variant in variants.items()}
    messages = []
    for recipient in recipients:
        name = assign_variant(draft.campaign_id, recipient.contact_id)
        variant = variants[name]
        first_name = (recipient.first_name or "").strip() or FALLBACK_FIRST_NAME
        common: dict[str, Any] = {
            "variant": name,
            "contact_id": recipient.contact_id,
            "campaign_id": draft.campaign_id,
            "campaign_version": version,
        }
        if draft.channel == "whatsapp":
            template, language, body = bodies[name]
            payload = {
                "template": template,
                "language": language,
                "body_parameters": [first_name],
                "body": body,
                "biz_opaque_callback_data": f"campaign={draft.campaign_id};variant={name}",
                **common,
            }
        else:
            payload = {
                "subject": draft.email_subject,
                "text": _fill_first_name(variant.copy_pt_br, first_name),
                **common,
            }
        messages.append(
            OutboundMessage(
                idempotency_key=f"{campaign_source(draft.campaign_id, version)}:{recipient.contact_id}:{draft.channel}",
                channel=draft.channel,
                recipient=recipient.address,
                payload=payload,
            )
        )
    return messages


def _fill_first_name(text: str, first_name: str) -> str:
    return PLACEHOLDER.sub(lambda m: first_name if m.group(1) == "1" else m.group(0), text)


def _whatsapp_body(draft: CampaignDraft, variant: CampaignVariant, templates: TemplateRegistry) -> tuple[str, str, str]:
    """(template name, language, approved body) of a variant; ValueError when it cannot be sent as is."""
    name = variant.whatsapp_template or draft.whatsapp_template
    template = templates.get(name or "")
    if template is None:
        raise ValueError(f"campaign {draft.campaign_id!r} variant {variant.name}: template {name!r} is not approved")
    body = template.body or variant.copy_pt_br
    if not ApprovedTemplate(template.name, body=body).fillable:
        raise ValueError(
            f"campaign {draft.campaign_id!r} variant {variant.name}: template {name!r} needs parameters "
            f"{sorted(PLACEHOLDER.findall(body))}, but only {{{{1}}}} (the first name) is known: choose another "
            "template"
        )
    return template.name, template.language, body


__all__ = [
    "FALLBACK_FIRST_NAME",
    "Recipient",
    "assign_variant",
    "audience",
    "campaign_messages",
    "campaign_source",
]
