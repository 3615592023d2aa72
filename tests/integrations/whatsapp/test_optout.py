"""Opt-out detection: the whole reply, normalised, must be one of the keywords."""

from __future__ import annotations

import pytest

from integrations.whatsapp.optout import is_opt_out, normalize_reply


@pytest.mark.parametrize(
    "text",
    ["sair", " Parar!", "STOP", "Sáir", "cancelar.", "DESCADASTRAR", "Stop 🛑", "S.A.I.R", "\tpArAr\n", "ＳＴＯＰ"],
)
def test_opt_out_variants(text: str) -> None:
    assert is_opt_out(text)


@pytest.mark.parametrize(
    "text",
    [
        None,
        "",
        "   ",
        "ok",
        "Quero sair do plano anual e ir pro mensal",
        "parar de receber",
        "stopped",
        "sair sair",
        "não",
    ],
)
def test_normal_text_is_not_an_opt_out(text: str | None) -> None:
    assert not is_opt_out(text)


def test_normalisation() -> None:
    assert normalize_reply("  Olá,   Mundo!! ção ") == "OLA MUNDO CAO"
