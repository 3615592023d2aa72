"""E-mail over SMTP: :class:`SmtpSender`, the ``email`` :class:`~integrations.outbound.Sender`.

The outbox hands it one :class:`~integrations.outbound.OutboundMessage` at a time with ``recipient`` = the
address and ``payload`` = ``{"subject": str, "text": str, "html": str (optional), "unsubscribe_url": str
(optional, overrides the sender's for this message, e.g. a per-recipient link)}``. :func:`build_message` turns it
into an RFC 5322 message: UTF-8 text (quoted-printable, so it passes any relay), ``Content-Language: pt-BR``, a
``Message-ID`` from :func:`email.utils.make_msgid` on the sender's domain (the ``provider_id``),
``X-Idempotency-Key`` = the outbox key and, when an unsubscribe URL is known, ``List-Unsubscribe`` (LGPD:
consent must be revocable from the message itself). ``SendResult.rendered`` (dry run or not) is that full
message as readable text (:func:`render`: same headers, Message-ID and Date, UTF-8 headers and an 8-bit body
per RFC 6532), for the outbox's human-readable files.

Delivery rules:

* One SMTP connection (port 465: implicit TLS; otherwise STARTTLS unless ``starttls=False``, and a server
  that does not offer STARTTLS is refused rather than spoken to in clear text), logged in when a username is
  given, reused across sends and threads (sends are serialized by a lock). Before reusing it, a
  connection the server has closed or answered unprompted (idle timeout, ``421``) is detected without a round
  trip and replaced.
* ``5xx`` to MAIL FROM / RCPT TO / DATA (``SMTPRecipientsRefused``, ``SMTPSenderRefused``, ``SMTPDataError``)
  → ``failed_permanent`` at once.
* ``4xx``, a dropped connection, a timeout or a failed connect → one more attempt (on a new connection when
  the old one is gone), then ``failed_retryable``. A timeout after the message data was sent is ambiguous:
  the server may have queued it, and the retry can deliver it twice (with the same Message-ID).
* Authentication refused or required (535, 530), or STARTTLS missing → ``failed_retryable`` without a second
  attempt: it is the configuration, not the message, and a later run with fixed settings should send it.

The password never appears in a result, a log line or ``repr``; log lines mask addresses.
"""

from __future__ import annotations

import email.policy
import logging
import select
import smtplib
import ssl
import threading
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from typing import Any, Literal

from integrations.closing import Closing
from integrations.email.masking import mask_email, mask_emails_in
from integrations.outbound import Channel, OutboundMessage, SendResult

logger = logging.getLogger(__name__)

DEFAULT_SENDER = "+Pet <contato@maispet.com.br>"
IMPLICIT_TLS_PORT = 465
CONTENT_LANGUAGE = "pt-BR"
AUTH_REQUIRED = 530  # "5.7.0 Authentication required" to MAIL FROM
_READABLE = email.policy.default.clone(utf8=True)


class InvalidEmail(ValueError):
    """The message cannot become a valid e-mail (bad recipient, payload or header value)."""


def build_message(
    message: OutboundMessage,
    *,
    sender: str = DEFAULT_SENDER,
    unsubscribe_url: str | None = None,
    now: datetime | None = None,
    message_id: str | None = None,
    body_encoding: Literal["quoted-printable", "8bit"] = "quoted-printable",
) -> EmailMessage:
    """The RFC 5322 message for ``message``; raises :class:`InvalidEmail` when it cannot be built.

    ``body_encoding="8bit"`` is for :func:`render` (readable text); what goes on the wire is quoted-printable.
    """
    recipient = _check_address(message.recipient, "recipient")
    sender_address = _check_address(parseaddr(sender)[1], "sender")
    payload = message.payload
    subject, text, html = payload.get("subject"), payload.get("text"), payload.get("html")
    if not isinstance(subject, str) or not subject.strip():
        raise InvalidEmail("payload['subject'] must be a non-empty text")
    if not isinstance(text, str) or not text.strip():
        raise InvalidEmail("payload['text'] must be a non-empty text (the plain-text body)")
    if html is not None and not isinstance(html, str):
        raise InvalidEmail("payload['html'] must be a text when given")
    url = payload.get("unsubscribe_url", unsubscribe_url)
    if url is not None and not _is_unsubscribe_url(url):
        raise InvalidEmail("unsubscribe URL must be an http(s) or mailto URL without spaces or angle brackets")

    domain = sender_address.rpartition("@")[2]
    mail = EmailMessage()
    try:
        mail["From"] = sender
        mail["To"] = recipient
        mail["Subject"] = subject
        mail["Date"] = format_datetime(now or datetime.now(UTC))
        mail["Message-ID"] = message_id or make_msgid(domain=domain)
        mail["X-Idempotency-Key"] = message.idempotency_key
        if url:
            mail["List-Unsubscribe"] = f"<{url}>"
        mail.set_content(text, subtype="plain", charset="utf-8", cte=body_encoding)
        if html is not None:
            mail.add_alternative(html, subtype="html", charset="utf-8", cte=body_encoding)
        mail["Content-Language"] = CONTENT_LANGUAGE  # after the body: set_content clears Content-* headers
    except (ValueError, TypeError) as exc:  # e.g. a line break in a header value (header injection)
        raise InvalidEmail(f"cannot build the message: {exc}") from exc
    return mail


def render(mail: EmailMessage) -> str:
    """The full message as readable text: UTF-8 headers (RFC 6532) instead of encoded words."""
    return mail.as_bytes(policy=_READABLE).decode("utf-8")  # bytes: a str generator would base64 8-bit parts


class SmtpSender(Closing):
    """The e-mail channel over one reused SMTP connection; a dry run when ``host`` is not set.

    See the module docstring for the message format and the retry rules. Use ``with`` or :meth:`close` to
    say QUIT when done.
    """

    channel: Channel = "email"

    def __init__(
        self,
        host: str | None,
        port: int = 587,
        *,
        username: str | None = None,
        password: str | None = None,
        sender: str = DEFAULT_SENDER,
        starttls: bool = True,
        timeout_s: float = 30,
        dry_run: bool = False,
        unsubscribe_url: str | None = None,
    ) -> None:
        if username and not password and not dry_run and host:
            raise ValueError("an SMTP username needs a password (set SMTP_PASSWORD)")
        try:
            self._envelope_from = _check_address(parseaddr(sender)[1], "sender")
        except InvalidEmail as exc:
            raise ValueError(f"sender {sender!r} has no valid address") from exc
        if unsubscribe_url is not None and not _is_unsubscribe_url(unsubscribe_url):
            raise ValueError("unsubscribe_url must be an http(s) or mailto URL without spaces or angle brackets")
        self.host = host or None
        self.port = port
        self.username = username or None
        self._password = password or None
        self.sender = sender
        self.starttls = starttls
        self.timeout_s = timeout_s
        self.unsubscribe_url = unsubscribe_url
        self.dry_run = bool(dry_run or not self.host)
        self._smtp: smtplib.SMTP | None = None
        self._lock = threading.Lock()
        self.connections = 0  # SMTP connections opened so far (reuse shows as a small number)

    def __repr__(self) -> str:  # never the password
        return (
            f"SmtpSender(host={self.host!r}, port={self.port}, username={self.username!r}, "
            f"starttls={self.starttls}, dry_run={self.dry_run})"
        )

    def send(self, message: OutboundMessage) -> SendResult:
        """Deliver one e-mail; see the module docstring for the retry rules."""
        if message.channel != self.channel:
            raise ValueError(f"SmtpSender got a message for channel {message.channel!r}")
        options: dict[str, Any] = {
            "sender": self.sender,
            "unsubscribe_url": self.unsubscribe_url,
            "now": datetime.now(UTC),
            "message_id": make_msgid(domain=self._envelope_from.rpartition("@")[2]),
        }
        try:
            mail = build_message(message, **options)
            rendered = render(build_message(message, **options, body_encoding="8bit"))  # same headers, readable
        except InvalidEmail as exc:
            logger.warning("e-mail to %s not sent: %s", mask_email(message.recipient), mask_emails_in(str(exc)))
            return SendResult(status="failed_permanent", error=f"invalid message: {exc}", attempts=0)
        if self.dry_run:
            logger.info("e-mail dry run to %s", mask_email(message.recipient))
            return SendResult(status="dry_run", attempts=0, rendered=rendered)
        with self._lock:
            return self._deliver(mail, message.recipient, rendered)

    def close(self) -> None:
        """QUIT and drop the connection (the next send opens a new one)."""
        with self._lock:
            self._drop(say_quit=True)

    def _deliver(self, mail: EmailMessage, recipient: str, rendered: str) -> SendResult:
        message_id = str(mail["Message-ID"])
        who = mask_email(recipient)
        for attempt in (1, 2):
            outcome, error = self._attempt(mail, recipient)
            if outcome == "sent":
                logger.info("e-mail to %s accepted (%s, attempts=%d)", who, message_id, attempt)
                return SendResult(status="sent", provider_id=message_id, attempts=attempt, rendered=rendered)
            if outcome == "permanent":
                logger.warning("e-mail to %s refused: %s", who, mask_emails_in(error))
                return SendResult(status="failed_permanent", error=error, attempts=attempt, rendered=rendered)
            if outcome == "config" or attempt == 2:
                break
            logger.warning("e-mail to %s: %s; retrying once", who, mask_emails_in(error))
        logger.warning("e-mail to %s failed after %d attempt(s): %s", who, attempt, mask_emails_in(error))
        return SendResult(status="failed_retryable", error=error, attempts=attempt, rendered=rendered)

    def _attempt(
        self, mail: EmailMessage, recipient: str
    ) -> tuple[Literal["sent", "permanent", "retry", "config"], str]:
        try:
            smtp = self._connection()
        except smtplib.SMTPAuthenticationError as exc:
            self._drop()
            detail = self._scrub(_reply(exc.smtp_code, exc.smtp_error))
            return "config", f"SMTP authentication failed ({detail}): check SMTP_USERNAME and SMTP_PASSWORD"
        except _StartTlsMissing as exc:
            self._drop()
            return "config", str(exc)
        except (smtplib.SMTPException, OSError) as exc:
            self._drop()
            return "retry", f"cannot connect to {self.host}:{self.port}: {self._describe(exc)}"
        try:
            smtp.send_message(mail, from_addr=self._envelope_from, to_addrs=[recipient])
        except smtplib.SMTPRecipientsRefused as exc:
            code, reply = next(iter(exc.recipients.values()), (-1, b"recipient refused"))
            return _by_code(code, f"recipient refused: {self._scrub(_reply(code, reply))}")
        except smtplib.SMTPResponseException as exc:  # SMTPSenderRefused, SMTPDataError, ...
            what = "sender refused" if isinstance(exc, smtplib.SMTPSenderRefused) else "message refused"
            error = f"{what}: {self._scrub(_reply(exc.smtp_code, exc.smtp_error))}"
            if exc.smtp_code == AUTH_REQUIRED:  # the settings, not the message: set SMTP_USERNAME/SMTP_PASSWORD
                return "config", f"{error} (the server wants authentication: set SMTP_USERNAME and SMTP_PASSWORD)"
            return _by_code(exc.smtp_code, error)
        except smtplib.SMTPNotSupportedError as exc:  # e.g. a non-ASCII address and no SMTPUTF8
            return "permanent", f"server cannot carry this message: {exc}"
        except (smtplib.SMTPException, OSError) as exc:  # SMTPServerDisconnected, timeouts, resets
            self._drop()
            return "retry", f"connection lost: {self._describe(exc)}"
        return "sent", ""

    def _connection(self) -> smtplib.SMTP:
        """The open connection, or a new one (connected, TLS, logged in) when there is none or it went stale."""
        if self._smtp is not None and not _still_open(self._smtp):
            logger.info("SMTP connection to %s:%s was closed by the server; reconnecting", self.host, self.port)
            self._drop()
        if self._smtp is None:
            self._smtp = self._connect()
        return self._smtp

    def _connect(self) -> smtplib.SMTP:
        assert self.host is not None
        context = ssl.create_default_context()
        smtp: smtplib.SMTP
        if self.port == IMPLICIT_TLS_PORT:
            smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout_s, context=context)
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout_s)
        self.connections += 1
        try:
            smtp.ehlo()
            if self.starttls and self.port != IMPLICIT_TLS_PORT:
                if not smtp.has_extn("starttls"):
                    raise _StartTlsMissing(
                        f"{self.host}:{self.port} does not offer STARTTLS; refusing to send in clear text "
                        "(use starttls=False only for a trusted local relay)"
                    )
                smtp.starttls(context=context)
                smtp.ehlo()
            if self.username and self._password:
                smtp.login(self.username, self._password)
        except BaseException:
            smtp.close()
            raise
        return smtp

    def _drop(self, *, say_quit: bool = False) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            if say_quit:
                smtp.quit()
        except (smtplib.SMTPException, OSError):
            pass
        finally:
            smtp.close()

    def _describe(self, exc: BaseException) -> str:
        return self._scrub(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)

    def _scrub(self, text: str) -> str:
        return text.replace(self._password, "***") if self._password else text


class _StartTlsMissing(Exception):
    pass


def _still_open(smtp: smtplib.SMTP) -> bool:
    """False when the server closed an idle connection or said something unprompted (e.g. a 421 on timeout).

    An idle SMTP connection has nothing to read, so a readable socket means EOF or an unsolicited reply;
    checked with a zero-timeout ``select``, no round trip.
    """
    sock = smtp.sock
    if sock is None:
        return False
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return False
    return not readable


def _by_code(code: int, error: str) -> tuple[Literal["permanent", "retry"], str]:
    return ("permanent" if 500 <= code <= 599 else "retry"), error


def _reply(code: int, reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return f"{code} {' '.join(text.split())}"


def _check_address(address: str, what: str) -> str:
    """``address`` when it is one plain ``local@domain`` (no display name, no line breaks); else InvalidEmail."""
    if not isinstance(address, str) or address != address.strip() or any(ch.isspace() for ch in address):
        raise InvalidEmail(f"{what} is not an e-mail address")
    local, at, domain = address.rpartition("@")
    if not at or not local or "." not in domain or domain.startswith(".") or domain.endswith("."):
        raise InvalidEmail(f"{what} is not an e-mail address")
    try:
        parsed = Address(addr_spec=address)
    except (ValueError, IndexError) as exc:
        raise InvalidEmail(f"{what} is not an e-mail address") from exc
    if parsed.addr_spec != address:
        raise InvalidEmail(f"{what} is not an e-mail address")
    return address


def _is_unsubscribe_url(url: object) -> bool:
    return (
        isinstance(url, str)
        and url.startswith(("https://", "http://", "mailto:"))
        and not any(ch.isspace() or ch in "<>," for ch in url)
    )


__all__ = ["DEFAULT_SENDER", "InvalidEmail", "SmtpSender", "build_message", "render"]
