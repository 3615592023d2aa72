"""The registry of approved WhatsApp message templates.

Business-initiated WhatsApp messages outside the 24-hour window must use a template Meta approved
(METRICS.md, "WhatsApp and consent"). Agents may only *name* a template from this registry; the
guardrail rejects any other name, and for WhatsApp the copy must be the approved body.

:data:`DEFAULT_TEMPLATES` is +Pet's catalogue: the pt-BR marketing templates its campaigns use (the
names the campaign results carry, ``<base>_a`` the control and ``<base>_b`` the challenger). A
deployment with other approved templates builds its own :class:`TemplateRegistry`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

#: A numbered body parameter of a WhatsApp template: ``{{1}}``.
PLACEHOLDER = re.compile(r"\{\{\s*(\d+)\s*\}\}")
#: The body parameters the platform can fill from the marts, by number.
KNOWN_PARAMETERS = {1: "first name"}


@dataclass(frozen=True)
class ApprovedTemplate:
    name: str
    language: str = "pt_BR"
    category: Literal["MARKETING", "UTILITY", "AUTHENTICATION"] = "MARKETING"
    body: str | None = None  # the approved text, {{n}} placeholders; None when unknown

    @property
    def placeholders(self) -> set[int]:
        return {int(n) for n in PLACEHOLDER.findall(self.body or "")}

    @property
    def fillable(self) -> bool:
        """Whether every body parameter is one the platform knows (a campaign can send it as is)."""
        return self.body is not None and self.placeholders <= KNOWN_PARAMETERS.keys()


class TemplateRegistry:
    """Approved templates by name."""

    def __init__(self, templates: Iterable[ApprovedTemplate]) -> None:
        self._by_name = {t.name: t for t in templates}

    def get(self, name: str) -> ApprovedTemplate | None:
        return self._by_name.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __iter__(self) -> Iterator[ApprovedTemplate]:
        return iter(self._by_name.values())

    def names(self, *, category: str | None = None, language: str | None = None) -> list[str]:
        return sorted(
            t.name
            for t in self._by_name.values()
            if (category is None or t.category == category) and (language is None or t.language == language)
        )


_PAIRS: tuple[tuple[str, str, str], ...] = (
    (
        "reativacao_v1",
        "Oi {{1}}! Sentimos sua falta na +Pet. Volte a assinar com 10% de desconto: cupom VOLTA10.",
        "{{1}}, seu pet merece! 🐾 Reative sua assinatura hoje e ganhe 10% OFF com o cupom VOLTA10. "
        "Oferta válida por 7 dias.",
    ),
    (
        "saudade_pet",
        "Olá {{1}}, a ração do seu pet está acabando? Reative a assinatura +Pet com 10% de desconto.",
        "{{1}}, seu pet está com saudade dos petiscos! 🐶 Volte hoje e ganhe 10% OFF + frete grátis "
        "no primeiro pedido.",
    ),
    (
        "frete_gratis_volta",
        "Oi {{1}}! Sua assinatura +Pet volta com frete grátis no primeiro mês. Responda para saber mais.",
        "{{1}}, só até domingo: volte para a +Pet com frete grátis e 10% OFF. Toque em reativar! 🚚",
    ),
    (
        "reativacao_v2",
        "Olá {{1}}, temos novidades na +Pet: rações novas e kits de higiene. Volte com 10% de desconto.",
        "{{1}}, preparamos um kit especial para o seu pet 🎁 Reative hoje e ganhe 10% OFF (cupom VOLTA10).",
    ),
    (
        "black_friday_volta",
        "Oi {{1}}! Black Friday +Pet: assinaturas com 10% de desconto para quem volta.",
        "{{1}}, a Black Friday +Pet chegou! 🖤 Sua assinatura de volta com 10% OFF e brinde surpresa.",
    ),
    (
        "volta_com_brinde",
        "Oi {{1}}! Volte para a +Pet este mês e ganhe um brinde no primeiro pedido.",
        "{{1}}, tem brinde esperando pelo seu pet 🎁 Reative a assinatura até sexta e ganhe 10% OFF também.",
    ),
    (
        "novidades_racao",
        "Olá {{1}}, lançamos novas rações premium. Experimente voltando para a +Pet com 10% de desconto.",
        "{{1}}, nova ração premium com entrega programada 🐾 Volte hoje com 10% OFF: cupom VOLTA10.",
    ),
)

DEFAULT_TEMPLATES = TemplateRegistry(
    ApprovedTemplate(f"{base}_{variant}", body=body)
    for base, body_a, body_b in _PAIRS
    for variant, body in (("a", body_a), ("b", body_b))
)

__all__ = ["DEFAULT_TEMPLATES", "KNOWN_PARAMETERS", "PLACEHOLDER", "ApprovedTemplate", "TemplateRegistry"]
