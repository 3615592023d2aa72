"""E-mail: :class:`SmtpSender`, the outbound ``email`` channel over SMTP (see :mod:`integrations.email.smtp`).

Named ``integrations.email``; inside it, ``import email`` still means the standard library (absolute imports).
"""

from integrations.email.masking import mask_email, mask_emails_in
from integrations.email.smtp import DEFAULT_SENDER, InvalidEmail, SmtpSender, build_message, render

__all__ = ["DEFAULT_SENDER", "InvalidEmail", "SmtpSender", "build_message", "mask_email", "mask_emails_in", "render"]
