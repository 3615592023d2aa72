"""Recognise opt-out replies (SAIR, PARAR, STOP, ...) in inbound WhatsApp text.

LGPD makes consent revocable at any time, and a customer revokes it the way customers do: " Parar!", "sáir",
"STOP". Every such reply must reach the suppression list checked before each send, so matching normalises case,
accents, punctuation and spacing, but still requires the whole message to be the keyword: "não quero parar de
receber" is not an opt-out.
"""

from __future__ import annotations

import unicodedata

OPT_OUT_KEYWORDS: frozenset[str] = frozenset({"SAIR", "PARAR", "STOP", "CANCELAR", "DESCADASTRAR"})
# Longer than any keyword plus generous decoration; lets bulk callers skip normalising long messages.
MAX_OPT_OUT_LENGTH = 64


def normalize_reply(text: str) -> str:
    """Upper-case ``text`` without accents, punctuation, symbols or emoji, with single spaces between words.

    Punctuation is dropped rather than turned into a space, so "S.A.I.R" and "pa-rar" still read as the keyword.
    """
    decomposed = unicodedata.normalize("NFKD", text)
    kept = []
    for char in decomposed:  # after NFKD an accent is its own (non-alphanumeric) combining mark, so it is dropped
        if char.isalnum():
            kept.append(char)
        elif char.isspace():
            kept.append(" ")
    return " ".join("".join(kept).split()).upper()


def is_opt_out(text: str | None) -> bool:
    """True when the whole reply, once normalised, is one of the opt-out keywords."""
    if not text or len(text) > MAX_OPT_OUT_LENGTH:
        return False
    return normalize_reply(text) in OPT_OUT_KEYWORDS
