"""SmtpSender against a real local SMTP server (aiosmtpd) started by the tests, without TLS."""

from __future__ import annotations

import asyncio
import email
import email.policy
import logging
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

from integrations.email import SmtpSender, build_message, mask_email
from integrations.outbound import OutboundMessage

ANA = "ana.souza@example.com.br"
BOUNCE = "nao.existe@example.com.br"
BUSY = "ocupado@example.com.br"
FLAKY = "instavel@example.com.br"
UNSUBSCRIBE = "https://maispet.com.br/descadastro?c=c42&sig=abc123"
SUBJECT = "Sua ração chegou, Ana! 🐶"
TEXT = "Olá Ana,\n\nA ração do Thor já está a caminho. Previsão: terça-feira. 🐾\n\nAbraços,\nEquipe +Pet\n"
HTML = "<p>Olá <b>Ana</b>,</p><p>A ração do Thor já está a caminho. 🐾</p>"


@dataclass
class Received:
    peer: Any
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


@dataclass
class Mailbox:
    """An aiosmtpd handler: collects envelopes, refuses BOUNCE with 550, defers BUSY (always) and FLAKY (once)."""

    received: list[Received] = field(default_factory=list)
    ehlo_peers: list[Any] = field(default_factory=list)
    rcpt_attempts: list[str] = field(default_factory=list)
    data_delay_s: float = 0.0
    _flaky_seen: bool = False

    async def handle_EHLO(
        self, server: Any, session: Session, envelope: Envelope, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        self.ehlo_peers.append(session.peer)
        return responses

    async def handle_RCPT(
        self, server: Any, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        self.rcpt_attempts.append(address)
        if address == BOUNCE:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown in virtual mailbox table"
        if address == BUSY or (address == FLAKY and not self._flaky_seen):
            self._flaky_seen = self._flaky_seen or address == FLAKY
            return "451 4.3.0 Temporary lookup failure, try again later"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        if self.data_delay_s:
            await asyncio.sleep(self.data_delay_s)
        content = envelope.original_content or envelope.content
        assert isinstance(content, bytes)
        # stored the way a mailbox stores it: CRLF from the wire becomes the local line ending
        message = email.message_from_bytes(content.replace(b"\r\n", b"\n"), policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.received.append(Received(session.peer, str(envelope.mail_from), list(envelope.rcpt_tos), message))
        return "250 2.0.0 Ok: queued as 4Xk2Lq0bZ1z"

    @property
    def connections(self) -> int:
        return len(set(self.ehlo_peers))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


StartServer = Callable[..., tuple[Mailbox, Controller]]


@pytest.fixture
def smtp_server() -> Iterator[StartServer]:
    """Starts aiosmtpd controllers on free ports (keyword arguments go to aiosmtpd's SMTP); stops them all."""
    controllers: list[Controller] = []

    def start(**smtp_kwargs: Any) -> tuple[Mailbox, Controller]:
        mailbox = Mailbox()
        controller = Controller(mailbox, hostname="127.0.0.1", port=_free_port(), **smtp_kwargs)
        controller.start()
        controllers.append(controller)
        return mailbox, controller

    yield start
    for controller in controllers:
        controller.stop()


def _sender(controller: Controller, **kwargs: Any) -> SmtpSender:
    options: dict[str, Any] = {"starttls": False, "timeout_s": 5, "unsubscribe_url": UNSUBSCRIBE} | kwargs
    return SmtpSender(controller.hostname, controller.port, **options)


def _message(recipient: str = ANA, key: str = "campaign:31:2:c42:email", **payload: Any) -> OutboundMessage:
    payload = {"subject": SUBJECT, "text": TEXT, "html": HTML} | payload
    return OutboundMessage(idempotency_key=key, channel="email", recipient=recipient, payload=payload)


def test_sends_a_utf8_message_with_the_expected_headers(smtp_server: StartServer) -> None:
    mailbox, controller = smtp_server()

    with _sender(controller) as sender:
        result = sender.send(_message())

    assert result.status == "sent"
    assert result.attempts == 1
    assert result.error is None
    (received,) = mailbox.received
    assert received.mail_from == "contato@maispet.com.br"
    assert received.rcpt_tos == [ANA]
    message = received.message
    assert message["From"] == "+Pet <contato@maispet.com.br>"
    assert message["To"] == ANA
    assert message["Subject"] == SUBJECT
    assert message["Message-ID"] == result.provider_id
    assert result.provider_id is not None
    assert result.provider_id.startswith("<") and result.provider_id.endswith("@maispet.com.br>")
    assert message["X-Idempotency-Key"] == "campaign:31:2:c42:email"
    assert message["List-Unsubscribe"] == f"<{UNSUBSCRIBE}>"
    assert message["Content-Language"] == "pt-BR"
    assert message["Date"].datetime is not None
    assert message.get_content_type() == "multipart/alternative"
    plain = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert plain is not None and html is not None
    assert plain.get_content_charset() == "utf-8"
    assert plain.get_content() == TEXT
    assert html.get_content().rstrip("\n") == HTML
    # on the wire: 7-bit clean (quoted-printable body, RFC 2047 subject)
    assert all(byte < 128 for byte in message.as_bytes())
    assert result.rendered is not None and f"Message-ID: {result.provider_id}" in result.rendered


def test_text_only_message_without_unsubscribe_url(smtp_server: StartServer) -> None:
    mailbox, controller = smtp_server()
    payload = {"subject": "Recibo", "text": "Obrigado pela compra!"}
    message = OutboundMessage("k1", "email", ANA, payload)

    with _sender(controller, unsubscribe_url=None) as sender:
        assert sender.send(message).status == "sent"

    received = mailbox.received[0].message
    assert received.get_content_type() == "text/plain"
    assert received.get_content() == "Obrigado pela compra!\n"
    assert received["List-Unsubscribe"] is None
    assert received["Content-Language"] == "pt-BR"


def test_a_per_message_unsubscribe_url_overrides_the_senders(smtp_server: StartServer) -> None:
    mailbox, controller = smtp_server()
    own = "https://maispet.com.br/descadastro?c=c99&sig=zzz"

    with _sender(controller) as sender:
        assert sender.send(_message(unsubscribe_url=own)).status == "sent"

    assert mailbox.received[0].message["List-Unsubscribe"] == f"<{own}>"


def test_one_connection_is_reused_across_sends(smtp_server: StartServer) -> None:
    mailbox, controller = smtp_server()
    sender = _sender(controller)

    results = [sender.send(_message(key=f"campaign:31:2:c{n}:email")) for n in range(5)]

    assert [r.status for r in results] == ["sent"] * 5
    assert len(mailbox.received) == 5
    assert mailbox.connections == 1
    assert sender.connections == 1
    assert len({r.provider_id for r in results}) == 5  # one Message-ID per message
    assert [m.message["X-Idempotency-Key"] for m in mailbox.received] == [f"campaign:31:2:c{n}:email" for n in range(5)]
    sender.close()
    assert sender.send(_message()).status == "sent"  # after close, a new connection
    assert mailbox.connections == 2
    sender.close()


def test_reconnects_when_the_server_closed_an_idle_connection(smtp_server: StartServer) -> None:
    mailbox, controller = smtp_server(timeout=0.3)  # the server drops connections idle for 0.3 s
    sender = _sender(controller)

    assert sender.send(_message()).status == "sent"
    time.sleep(0.8)
    result = sender.send(_message())

    assert (result.status, result.attempts) == ("sent", 1)  # noticed before sending, not a failed attempt
    assert len(mailbox.received) == 2
    assert mailbox.connections == 2
    sender.close()


def test_a_550_recipient_is_permanent_and_the_connection_survives(smtp_server: StartServer) -> None:
    mailbox, controller = smtp_server()
    sender = _sender(controller)

    refused = sender.send(_message(recipient=BOUNCE))
    accepted = sender.send(_message())

    assert (refused.status, refused.attempts) == ("failed_permanent", 1)
    assert refused.provider_id is None
    assert refused.error is not None
    assert "550" in refused.error and "User unknown" in refused.error
    assert mailbox.rcpt_attempts.count(BOUNCE) == 1  # never retried
    assert accepted.status == "sent"
    assert [r.rcpt_tos for r in mailbox.received] == [[ANA]]
    assert mailbox.connections == 1
    sender.close()


def test_a_451_is_retried_once_then_retryable(smtp_server: StartServer) -> None:
    mailbox, controller = smtp_server()
    with _sender(controller) as sender:
        result = sender.send(_message(recipient=BUSY))

    assert (result.status, result.attempts) == ("failed_retryable", 2)
    assert result.error is not None and "451" in result.error
    assert mailbox.rcpt_attempts.count(BUSY) == 2
    assert mailbox.received == []


def test_a_451_then_accepted_is_sent_on_the_retry(smtp_server: StartServer) -> None:
    mailbox, controller = smtp_server()
    with _sender(controller) as sender:
        result = sender.send(_message(recipient=FLAKY))

    assert (result.status, result.attempts) == ("sent", 2)
    assert [r.rcpt_tos for r in mailbox.received] == [[FLAKY]]
    assert mailbox.received[0].message["Message-ID"] == result.provider_id  # the retry resent the same message


def test_a_timeout_is_retried_on_a_new_connection_then_retryable(smtp_server: StartServer) -> None:
    mailbox, controller = smtp_server()
    mailbox.data_delay_s = 1.0  # the server takes longer to accept DATA than the client waits

    with _sender(controller, timeout_s=0.3) as sender:
        result = sender.send(_message())

    assert (result.status, result.attempts) == ("failed_retryable", 2)
    assert result.error is not None and "connection lost" in result.error
    assert sender.connections == 2


def test_nothing_listening_is_retryable(smtp_server: StartServer) -> None:
    sender = SmtpSender("127.0.0.1", _free_port(), starttls=False, timeout_s=2)
    result = sender.send(_message())
    assert (result.status, result.attempts) == ("failed_retryable", 2)
    assert result.error is not None and "cannot connect" in result.error


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
def test_login_and_a_refused_password_is_a_configuration_error(
    smtp_server: StartServer, caplog: pytest.LogCaptureFixture
) -> None:
    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and auth_data == (b"maispet", b"s3nha-certa")
        return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself

    mailbox, controller = smtp_server(authenticator=authenticator, auth_require_tls=False, auth_required=True)
    caplog.set_level(logging.DEBUG)

    with _sender(controller, username="maispet", password="s3nha-certa") as good:
        assert good.send(_message()).status == "sent"
    with _sender(controller, username="maispet", password="s3nha-errada") as bad:
        result = bad.send(_message())

    assert (result.status, result.attempts) == ("failed_retryable", 1)  # the settings, not the message
    assert result.error is not None and "535" in result.error and "SMTP_PASSWORD" in result.error
    assert "s3nha" not in result.error and "s3nha" not in caplog.text and "s3nha" not in repr(bad)
    assert len(mailbox.received) == 1
    with _sender(controller) as anonymous:
        result = anonymous.send(_message())
    assert (result.status, result.attempts) == ("failed_retryable", 1)
    assert result.error is not None and "530" in result.error and "SMTP_USERNAME" in result.error


def test_starttls_is_required_unless_disabled(smtp_server: StartServer) -> None:
    mailbox, controller = smtp_server()  # no TLS context: the server does not offer STARTTLS
    with _sender(controller, starttls=True) as sender:
        result = sender.send(_message())

    assert (result.status, result.attempts) == ("failed_retryable", 1)
    assert result.error is not None and "STARTTLS" in result.error
    assert mailbox.received == []


def test_dry_run_renders_the_full_message_and_connects_nowhere(smtp_server: StartServer) -> None:
    mailbox, controller = smtp_server()
    sender = _sender(controller, dry_run=True)

    result = sender.send(_message())

    assert result.status == "dry_run"
    assert result.attempts == 0
    assert result.provider_id is None
    assert mailbox.ehlo_peers == [] and sender.connections == 0
    assert result.rendered is not None
    # readable: UTF-8 headers and an 8-bit body, not encoded words and quoted-printable
    assert f"Subject: {SUBJECT}\n" in result.rendered
    assert "A ração do Thor já está a caminho. Previsão: terça-feira. 🐾" in result.rendered
    assert "Content-Transfer-Encoding: 8bit" in result.rendered
    parsed = email.message_from_bytes(result.rendered.encode(), policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    assert parsed["Subject"] == SUBJECT
    assert parsed["X-Idempotency-Key"] == "campaign:31:2:c42:email"
    assert parsed["List-Unsubscribe"] == f"<{UNSUBSCRIBE}>"
    plain = parsed.get_body(preferencelist=("plain",))
    assert plain is not None and plain.get_content() == TEXT
    assert SmtpSender(None).dry_run  # no host: always a dry run


@pytest.mark.parametrize(
    ("recipient", "payload"),
    [
        ("not-an-address", {}),
        ("ana@example.com.br\r\nBcc: todos@example.com", {}),
        (ANA, {"subject": ""}),
        (ANA, {"subject": "Oferta\r\nBcc: todos@example.com"}),
        (ANA, {"text": None}),
        (ANA, {"html": 42}),
        (ANA, {"unsubscribe_url": "javascript:alert(1)"}),
    ],
)
def test_an_invalid_message_is_permanent_without_connecting(
    smtp_server: StartServer, recipient: str, payload: dict[str, Any]
) -> None:
    mailbox, controller = smtp_server()
    with _sender(controller) as sender:
        result = sender.send(_message(recipient=recipient, **payload))

    assert (result.status, result.attempts) == ("failed_permanent", 0)
    assert result.error is not None and result.error.startswith("invalid message")
    assert mailbox.ehlo_peers == []


def test_log_lines_mask_addresses(smtp_server: StartServer, caplog: pytest.LogCaptureFixture) -> None:
    _, controller = smtp_server()
    caplog.set_level(logging.DEBUG)
    with _sender(controller) as sender:
        sender.send(_message())
        sender.send(_message(recipient=BOUNCE))  # the server's reply echoes the address

    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("integrations."))
    assert ANA not in ours and BOUNCE not in ours
    assert mask_email(ANA) == "a***@example.com.br"
    assert "a***@example.com.br" in ours and "n***@example.com.br" in ours


def test_each_built_message_gets_its_own_message_id() -> None:
    first = build_message(_message())
    second = build_message(_message())
    assert first["Message-ID"] != second["Message-ID"]
    assert first["X-Idempotency-Key"] == second["X-Idempotency-Key"]


def test_a_message_for_another_channel_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="channel"):
        SmtpSender(None).send(OutboundMessage("k", "whatsapp", "5511987654321", {}))
