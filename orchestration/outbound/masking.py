"""Mask recipients (phones, e-mail addresses) before they reach a log line or a readable outbox file.

The outbox stores the real address (it needs it to send); everything meant for people to read — logs,
the dry-run files, asset metadata — gets the masked form.
"""

from __future__ import annotations

import re

from integrations.whatsapp.masking import mask_phone

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_DIGIT_RUN = re.compile(r"(?<!\d)\+?\d{10,15}(?!\d)")  # E.164 numbers; error codes are shorter


def mask_email(address: str | None) -> str:
    """``joana.silva@example.com`` -> ``j***@example.com``: the first character and the domain."""
    if not address:
        return "<none>"
    local, at, domain = address.strip().partition("@")
    if not at:
        return "***"
    return f"{local[:1]}***@{domain}"


def mask_recipient(channel: str, address: str | None) -> str:
    """The form of ``address`` that may be logged: phones and e-mails masked, other channels' targets as they are.

    Slack channels, the Notion database and HubSpot contact ids are not personal data.
    """
    if channel == "whatsapp":
        return mask_phone(address)
    if channel == "email":
        return mask_email(address)
    return address or "<none>"


def mask_text(text: str | None) -> str | None:
    """``text`` (a provider's error message, say) with any e-mail address or phone-like number masked."""
    if text is None:
        return None
    text = _EMAIL.sub(lambda m: mask_email(m.group(0)), text)
    return _DIGIT_RUN.sub(lambda m: mask_phone(m.group(0)), text)


__all__ = ["mask_email", "mask_recipient", "mask_text"]
