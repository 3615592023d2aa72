"""Campaign audience, A/B assignment and messages from an approved draft."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa
import pytest

from agents.schemas import CampaignDraft, CampaignVariant
from agents.templates import DEFAULT_TEMPLATES, ApprovedTemplate, TemplateRegistry
from orchestration.outbound.campaign import (
    Recipient,
    assign_variant,
    audience,
    campaign_messages,
    campaign_source,
)
from orchestration.warehouse import Warehouse

BODY_A = DEFAULT_TEMPLATES.get("reativacao_v1_a").body  # type: ignore[union-attr]
BODY_B = DEFAULT_TEMPLATES.get("reativacao_v1_b").body  # type: ignore[union-attr]


def draft(channel: str = "whatsapp", audience_size: int = 100, **changes: Any) -> CampaignDraft:
    fields: dict[str, Any] = {
        "campaign_id": "inactive_60d_whatsapp_20261201",
        "channel": channel,
        "segment": "inactive_60d",
        "audience_size": audience_size,
        "whatsapp_template": "reativacao_v1_a" if channel == "whatsapp" else None,
        "email_subject": "Sentimos sua falta" if channel == "email" else None,
        "variants": [
            CampaignVariant(name="A", copy_pt_br=BODY_A if channel == "whatsapp" else "Oi {{1}}, volte!"),
            CampaignVariant(
                name="B",
                copy_pt_br=BODY_B if channel == "whatsapp" else "{{1}}, 10% OFF!",
                whatsapp_template="reativacao_v1_b" if channel == "whatsapp" else None,
            ),
        ],
        "schedule": dt.datetime(2026, 12, 1, 10, 0),
        "budget_brl": 100.0,
        "success_metric": "reactivations",
    }
    fields.update(changes)
    return CampaignDraft(**fields)


def build_marts(warehouse: Warehouse) -> None:
    """Ten customers: segment, consent and contact details vary one at a time."""
    segments = [
        # customer_id, segment, wa_id, whatsapp_opt_in, is_whatsapp_contactable
        ("c01", "inactive_60d", "5511900000001", True, True),
        ("c02", "inactive_60d", "5511900000002", True, False),  # opted out after the opt-in
        ("c03", "inactive_60d", "5511900000003", False, False),  # never opted in
        ("c04", "inactive_60d", None, True, False),  # no WhatsApp
        ("c05", "inactive_60d", "5511900000005", True, True),
        ("c06", "loyal", "5511900000006", True, True),  # another segment
        ("c07", "inactive_60d", "5511900000007", True, True),
        ("c08", "inactive_60d", "5511900000007", True, True),  # the same phone as c07
        ("c09", "inactive_60d", "5511900000009", True, True),
        ("c10", "inactive_60d", "5511900000010", True, True),
    ]
    warehouse.merge(
        "marts",
        "dim_segments",
        pa.table(
            {
                "customer_id": [s[0] for s in segments],
                "segment": [s[1] for s in segments],
                "wa_id": [s[2] for s in segments],
                "whatsapp_opt_in": [s[3] for s in segments],
                "is_whatsapp_contactable": [s[4] for s in segments],
            }
        ),
        ["customer_id"],
    )
    names = {"c01": "Ana", "c05": "  ", "c07": "Carla", "c09": None, "c10": "Davi"}
    emails = {"c03": "Bia@Example.com", "c05": "eva@example.com", "c06": "fabio@example.com", "c09": None}
    warehouse.merge(
        "marts",
        "dim_customers",
        pa.table(
            {
                "customer_id": [s[0] for s in segments],
                "email": [emails.get(s[0], f"{s[0]}@example.com") for s in segments],
                "first_name": [names.get(s[0], s[0].upper()) for s in segments],
                "phone": [s[2] for s in segments],
                "wa_id": [s[2] for s in segments],
                "segment": [s[1] for s in segments],
            }
        ),
        ["customer_id"],
    )


def test_whatsapp_audience_is_the_contactable_customers_of_the_segment(warehouse: Warehouse) -> None:
    build_marts(warehouse)
    recipients = audience(warehouse, draft())
    assert [r.contact_id for r in recipients] == ["c01", "c05", "c07", "c09", "c10"]
    assert recipients[0] == Recipient("c01", "5511900000001", "Ana")
    assert audience(warehouse, draft()) == recipients  # deterministic
    assert [r.contact_id for r in audience(warehouse, draft(audience_size=3))] == ["c01", "c05", "c07"]
    assert audience(warehouse, draft(audience_size=0)) == []
    assert [r.contact_id for r in audience(warehouse, draft(segment="loyal"))] == ["c06"]


def test_email_audience_is_the_segment_with_an_address(warehouse: Warehouse) -> None:
    build_marts(warehouse)
    recipients = audience(warehouse, draft("email"))
    assert [r.contact_id for r in recipients] == ["c01", "c02", "c03", "c04", "c05", "c07", "c08", "c10"]
    assert recipients[2].address == "Bia@Example.com"
    assert len(audience(warehouse, draft("email", audience_size=2))) == 2


def test_variant_assignment_is_deterministic_and_roughly_balanced() -> None:
    contacts = [str(10_000_000 + i) for i in range(10_000)]
    first = [assign_variant("cmp_202612_reativacao_v1", c) for c in contacts]
    assert first == [assign_variant("cmp_202612_reativacao_v1", c) for c in contacts]
    share_a = first.count("A") / len(first)
    assert 0.48 < share_a < 0.52  # binomial sd 0.5 %: four of them either side
    other = [assign_variant("another_campaign", c) for c in contacts]
    assert 0.45 < sum(a != b for a, b in zip(first, other, strict=True)) / len(first) < 0.55  # independent
    assert assign_variant("x", "1") == ("A" if __import__("hashlib").sha256(b"x:1").digest()[-1] % 2 == 0 else "B")


def test_whatsapp_messages_carry_the_variants_approved_template() -> None:
    recipients = [Recipient(f"c{i}", f"55119{i:08d}", name) for i, name in enumerate(["Ana", None, " ", "Bruno"] * 5)]
    messages = campaign_messages(draft(), "v1", recipients)
    assert [m.recipient for m in messages] == [r.address for r in recipients]
    first = messages[0]
    assert first.idempotency_key == "campaign:inactive_60d_whatsapp_20261201:v1:c0:whatsapp"
    assert first.channel == "whatsapp"
    assert campaign_source("inactive_60d_whatsapp_20261201", "v1") == "campaign:inactive_60d_whatsapp_20261201:v1"
    for message, recipient in zip(messages, recipients, strict=True):
        variant = assign_variant("inactive_60d_whatsapp_20261201", recipient.contact_id)
        payload = message.payload
        assert payload["variant"] == variant and payload["contact_id"] == recipient.contact_id
        assert payload["template"] == ("reativacao_v1_a" if variant == "A" else "reativacao_v1_b")
        assert payload["body"] == (BODY_A if variant == "A" else BODY_B)
        assert payload["language"] == "pt_BR"
        assert payload["body_parameters"] == [(recipient.first_name or "").strip() or "cliente"]
        assert payload["biz_opaque_callback_data"] == f"campaign=inactive_60d_whatsapp_20261201;variant={variant}"
    assert {m.payload["variant"] for m in messages} == {"A", "B"}


def test_a_template_with_a_parameter_we_cannot_fill_is_refused() -> None:
    pet = "{{1}}, o {{2}} está com saudade dos petiscos!"
    registry = TemplateRegistry([*DEFAULT_TEMPLATES, ApprovedTemplate("pet_name_b", body=pet)])
    bad = draft(
        whatsapp_template="saudade_pet_a",
        variants=[
            CampaignVariant(name="A", copy_pt_br=DEFAULT_TEMPLATES.get("saudade_pet_a").body),  # type: ignore[union-attr]
            CampaignVariant(name="B", copy_pt_br=pet, whatsapp_template="pet_name_b"),
        ],
    )
    with pytest.raises(ValueError, match=r"pet_name_b.*\['1', '2'\]"):
        campaign_messages(bad, "v1", [Recipient("c1", "5511900000001", "Ana")], templates=registry)
    with pytest.raises(ValueError, match="not approved"):
        campaign_messages(draft(whatsapp_template="made_up"), "v1", [Recipient("c1", "5511900000001", "Ana")])


def test_email_messages_have_subject_and_personal_text() -> None:
    recipients = [Recipient("c1", "ana@example.com", "Ana"), Recipient("c2", "bob@example.com", None)]
    messages = campaign_messages(draft("email"), "v2", recipients)
    assert messages[0].idempotency_key == "campaign:inactive_60d_whatsapp_20261201:v2:c1:email"
    texts = {"A": "Oi {name}, volte!", "B": "{name}, 10% OFF!"}
    for message, name in zip(messages, ["Ana", "cliente"], strict=True):
        assert message.payload["subject"] == "Sentimos sua falta"
        assert message.payload["text"] == texts[message.payload["variant"]].format(name=name)
