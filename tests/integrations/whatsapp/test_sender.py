"""WhatsAppSender against a fake Graph API (pytest_httpserver) answering with the Cloud API's documented bodies."""

from __future__ import annotations

import itertools
import json
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from integrations.outbound import OutboundMessage
from integrations.whatsapp.sender import RateLimiter, WhatsAppSender

TOKEN = "fake-whatsapp-access-token"  # not a real credential
PHONE_NUMBER_ID = "106540352242922"
WA_ID = "5511987654321"
MASKED = "5511*******21"
PATH = f"/v21.0/{PHONE_NUMBER_ID}/messages"
WAMID = "wamid.HBgNNTUxMTk4NzY1NDMyMRUCABEYEjdGQTQ2QkE1N0M1RTg5QzRBNgA="


class FakeTime:
    """A clock that only moves when someone sleeps; records every sleep."""

    def __init__(self, *, frozen: bool = False) -> None:
        self.now = 0.0
        self.frozen = frozen
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            if not self.frozen:
                self.now += seconds


@pytest.fixture(scope="module")
def graph_server() -> Iterator[HTTPServer]:
    """A threaded fake of graph.facebook.com (threaded: concurrent sends and a slow handler must not block)."""
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def graph(graph_server: HTTPServer) -> Iterator[HTTPServer]:
    graph_server.clear()
    yield graph_server
    graph_server.check_handler_errors()
    graph_server.clear()


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


def _sender(graph: HTTPServer, fake_time: FakeTime, **kwargs: Any) -> WhatsAppSender:
    return WhatsAppSender(
        TOKEN,
        PHONE_NUMBER_ID,
        base_url=graph.url_for("/v21.0"),
        sleep=fake_time.sleep,
        clock=fake_time.clock,
        **kwargs,
    )


def _message(recipient: str = WA_ID, **payload: Any) -> OutboundMessage:
    payload = {"template": "lembrete_renovacao", "language": "pt_BR", "body_parameters": ["Ana", "R$ 89,90"]} | payload
    return OutboundMessage(
        idempotency_key=f"campaign:7:1:{recipient}:whatsapp", channel="whatsapp", recipient=recipient, payload=payload
    )


def _accepted(wa_id: str = WA_ID, message_id: str = WAMID) -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "contacts": [{"input": wa_id, "wa_id": wa_id}],
        "messages": [{"id": message_id, "message_status": "accepted"}],
    }


def _graph_error(code: int, message: str, details: str, type_: str = "OAuthException") -> dict[str, Any]:
    return {
        "error": {
            "message": message,
            "type": type_,
            "code": code,
            "error_data": {"messaging_product": "whatsapp", "details": details},
            "fbtrace_id": "AazDGCR1Vq3jx6nqgdUVfl6",
        }
    }


THROUGHPUT = _graph_error(130429, "(#130429) Rate limit hit", "Cloud API message throughput has been reached.")
SERVER_ERROR = _graph_error(131000, "(#131000) Something went wrong", "Something went wrong", "OAuthException")


def _bodies(graph: HTTPServer) -> list[Any]:
    return [request.get_json() for request, _ in graph.log]


def test_sends_the_documented_template_request_and_returns_the_wamid(graph: HTTPServer, fake_time: FakeTime) -> None:
    graph.expect_request(PATH, method="POST").respond_with_json(_accepted())

    with _sender(graph, fake_time) as sender:
        result = sender.send(_message())

    assert result.status == "sent"
    assert result.provider_id == WAMID
    assert result.attempts == 1
    assert result.error is None
    (request, _), *_ = graph.log
    assert len(graph.log) == 1
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["Content-Type"] == "application/json"
    assert request.get_json() == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": WA_ID,
        "type": "template",
        "template": {
            "name": "lembrete_renovacao",
            "language": {"code": "pt_BR"},
            "components": [
                {
                    "type": "body",
                    "parameters": [{"type": "text", "text": "Ana"}, {"type": "text", "text": "R$ 89,90"}],
                }
            ],
        },
    }


def test_callback_data_is_passed_on_for_the_status_webhooks(graph: HTTPServer, fake_time: FakeTime) -> None:
    graph.expect_request(PATH, method="POST").respond_with_json(_accepted())
    message = _message(biz_opaque_callback_data="campaign=7;variant=B", contact_id="c42", variant="B")

    assert _sender(graph, fake_time).send(message).status == "sent"

    (body,) = _bodies(graph)
    assert body["biz_opaque_callback_data"] == "campaign=7;variant=B"
    assert "contact_id" not in body and "variant" not in body  # the outbox's own keys stay home


def test_an_accepted_answer_without_a_message_id_is_still_sent_and_not_retried(
    graph: HTTPServer, fake_time: FakeTime
) -> None:
    graph.expect_request(PATH, method="POST").respond_with_json({"messaging_product": "whatsapp"})

    result = _sender(graph, fake_time).send(_message())

    assert (result.status, result.provider_id, result.attempts) == ("sent", None, 1)  # a retry could send twice
    assert len(graph.log) == 1


def test_template_without_parameters_has_no_components_and_language_defaults_to_pt_br(
    graph: HTTPServer, fake_time: FakeTime
) -> None:
    graph.expect_request(PATH, method="POST").respond_with_json(_accepted())
    message = OutboundMessage("k", "whatsapp", WA_ID, {"template": "boas_vindas"})

    assert _sender(graph, fake_time).send(message).status == "sent"

    assert _bodies(graph) == [
        {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": WA_ID,
            "type": "template",
            "template": {"name": "boas_vindas", "language": {"code": "pt_BR"}},
        }
    ]


def test_sends_are_paced_at_messages_per_second(graph: HTTPServer, fake_time: FakeTime) -> None:
    graph.expect_request(PATH, method="POST").respond_with_json(_accepted())
    sender = _sender(graph, fake_time)
    n = 40

    results = [sender.send(_message()) for _ in range(n)]

    assert [r.status for r in results] == ["sent"] * n
    assert len(graph.log) == n
    # no burst: the first request goes at once, each later one 1/80 s after the previous
    assert fake_time.now == pytest.approx((n - 1) / 80)
    assert fake_time.now >= (n - 1) / 80 - 1e-9
    assert fake_time.sleeps == pytest.approx([1 / 80] * (n - 1))


def test_threads_share_one_limiter_and_never_exceed_the_rate(graph: HTTPServer) -> None:
    """With time frozen, every send's wait is its reserved slot: slots must be distinct and 1/80 s apart."""
    graph.expect_request(PATH, method="POST").respond_with_json(_accepted())
    frozen = FakeTime(frozen=True)
    sender = WhatsAppSender(
        TOKEN, PHONE_NUMBER_ID, base_url=graph.url_for("/v21.0"), sleep=frozen.sleep, clock=frozen.clock
    )
    threads, per_thread = 4, 25
    results: list[str] = []

    def work() -> None:
        for _ in range(per_thread):
            results.append(sender.send(_message()).status)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)

    n = threads * per_thread
    assert results == ["sent"] * n
    assert len(graph.log) == n
    slots = sorted([0.0, *frozen.sleeps])  # the first send waited 0 and did not sleep
    assert slots == pytest.approx([k / 80 for k in range(n)])
    # any one-second window holds at most 80 sends
    assert max(sum(1 for s in slots if start <= s < start + 1 - 1e-9) for start in slots) == 80


def test_rate_limiter_with_the_real_clock_across_threads() -> None:
    limiter = RateLimiter(400.0)
    threads, per_thread = 4, 10
    started = time.monotonic()
    workers = [threading.Thread(target=lambda: [limiter.acquire() for _ in range(per_thread)]) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30)
    assert time.monotonic() - started >= (threads * per_thread - 1) / 400 - 1e-3


def test_rate_limiter_slow_down_halves_then_restores() -> None:
    fake = FakeTime()
    limiter = RateLimiter(80.0, clock=fake.clock, sleep=fake.sleep, slowdown_s=60.0)
    assert limiter.slow_down() == 40.0
    assert limiter.slow_down() == 20.0  # compounding while 130429s keep coming
    limiter.acquire()
    limiter.acquire()
    assert fake.sleeps == [pytest.approx(1 / 20)]
    fake.now += 60.0
    assert limiter.rate == 80.0
    assert [limiter.slow_down() for _ in range(10)][-1] == 1.0  # never below 1 msg/s


def test_throughput_error_backs_off_slows_the_limiter_then_succeeds(graph: HTTPServer, fake_time: FakeTime) -> None:
    graph.expect_oneshot_request(PATH, method="POST").respond_with_json(THROUGHPUT, status=400)
    graph.expect_oneshot_request(PATH, method="POST").respond_with_json(_accepted())
    sender = _sender(graph, fake_time)

    result = sender.send(_message())

    assert result.status == "sent"
    assert result.provider_id == WAMID
    assert result.attempts == 2
    assert fake_time.sleeps == [1.0]  # first backoff step; the limiter had a token again after it
    assert sender.limiter.rate == 40.0
    bodies = _bodies(graph)
    assert len(bodies) == 2 and bodies[0] == bodies[1]
    fake_time.now += 61.0
    assert sender.limiter.rate == 80.0  # back to full speed after a quiet minute


def test_retry_after_is_honoured(graph: HTTPServer, fake_time: FakeTime) -> None:
    waba_limit = _graph_error(80007, "(#80007) Rate limit issues", "WhatsApp Business Account rate limit reached")
    graph.expect_oneshot_request(PATH, method="POST").respond_with_json(
        waba_limit, status=429, headers={"Retry-After": "7"}
    )
    graph.expect_oneshot_request(PATH, method="POST").respond_with_json(_accepted())

    result = _sender(graph, fake_time).send(_message())

    assert (result.status, result.attempts) == ("sent", 2)
    assert fake_time.sleeps == [7.0]


def test_a_retry_after_longer_than_a_minute_ends_the_send_as_retryable(graph: HTTPServer, fake_time: FakeTime) -> None:
    graph.expect_request(PATH, method="POST").respond_with_json(
        {"error": {"message": "Too many calls", "code": 4, "type": "OAuthException"}},
        status=429,
        headers={"Retry-After": "3600"},
    )

    result = _sender(graph, fake_time).send(_message())

    assert (result.status, result.attempts) == ("failed_retryable", 1)
    assert "Retry-After 3600s" in (result.error or "")
    assert fake_time.sleeps == []


def test_pair_rate_limit_waits_at_least_six_seconds(graph: HTTPServer, fake_time: FakeTime) -> None:
    pair = _graph_error(131056, "(#131056) (Business Account, Consumer Account) pair rate limit hit", "Too many")
    graph.expect_oneshot_request(PATH, method="POST").respond_with_json(pair, status=400)
    graph.expect_oneshot_request(PATH, method="POST").respond_with_json(_accepted())

    sender = _sender(graph, fake_time)
    result = sender.send(_message())

    assert (result.status, result.attempts) == ("sent", 2)
    assert fake_time.sleeps == [6.0]
    assert sender.limiter.rate == 80.0  # a pair limit says nothing about the number's throughput


def test_server_errors_exhaust_the_retries(graph: HTTPServer, fake_time: FakeTime) -> None:
    graph.expect_request(PATH, method="POST").respond_with_json(SERVER_ERROR, status=500)

    result = _sender(graph, fake_time, max_retries=4).send(_message())

    assert result.status == "failed_retryable"
    assert result.attempts == 5
    assert len(graph.log) == 5
    assert fake_time.sleeps == [1.0, 2.0, 4.0, 8.0]  # exponential, one wait between each two attempts
    assert result.error is not None
    assert "131000" in result.error and "HTTP 500" in result.error and "AazDGCR1Vq3jx6nqgdUVfl6" in result.error


def test_a_non_json_bad_gateway_is_retryable(graph: HTTPServer, fake_time: FakeTime) -> None:
    graph.expect_request(PATH, method="POST").respond_with_data("<html>Bad Gateway</html>", status=502)

    result = _sender(graph, fake_time, max_retries=1).send(_message())

    assert (result.status, result.attempts) == ("failed_retryable", 2)
    assert "HTTP 502" in (result.error or "")


def test_undeliverable_is_permanent_without_retry(graph: HTTPServer, fake_time: FakeTime) -> None:
    undeliverable = _graph_error(131026, "(#131026) Message Undeliverable", "Message Undeliverable.")
    graph.expect_request(PATH, method="POST").respond_with_json(undeliverable, status=400)

    result = _sender(graph, fake_time).send(_message())

    assert result.status == "failed_permanent"
    assert result.attempts == 1
    assert len(graph.log) == 1
    assert fake_time.sleeps == []
    assert result.error == (
        "131026 (#131026) Message Undeliverable: Message Undeliverable. (HTTP 400, fbtrace_id AazDGCR1Vq3jx6nqgdUVfl6)"
    )


@pytest.mark.parametrize(
    ("code", "title"),
    [(132001, "Template does not exist"), (132015, "Template is paused"), (100, "Invalid parameter")],
)
def test_template_and_parameter_errors_are_permanent(
    graph: HTTPServer, fake_time: FakeTime, code: int, title: str
) -> None:
    graph.expect_request(PATH, method="POST").respond_with_json(_graph_error(code, f"(#{code}) {title}", title), 400)

    result = _sender(graph, fake_time).send(_message())

    assert (result.status, result.attempts) == ("failed_permanent", 1)
    assert str(code) in (result.error or "")


def test_expired_token_is_permanent_actionable_and_never_echoes_the_token(
    graph: HTTPServer, fake_time: FakeTime, caplog: pytest.LogCaptureFixture
) -> None:
    expired = {
        "error": {
            "message": f"Error validating access token: Session has expired (token {TOKEN})",
            "type": "OAuthException",
            "code": 190,
            "error_subcode": 463,
            "fbtrace_id": "Ak0Nl5Zb1MQ8dCz8nGqZtKQ",
        }
    }
    graph.expect_request(PATH, method="POST").respond_with_json(expired, status=401)
    caplog.set_level(logging.DEBUG)

    sender = _sender(graph, fake_time)
    result = sender.send(_message())

    assert (result.status, result.attempts) == ("failed_permanent", 1)
    assert result.error is not None
    assert result.error.startswith("190 Error validating access token")
    assert "WHATSAPP_ACCESS_TOKEN" in result.error and "System User token" in result.error
    assert TOKEN not in result.error and "***" in result.error
    assert TOKEN not in caplog.text
    assert TOKEN not in repr(sender)


def test_a_timeout_is_retried(graph: HTTPServer, fake_time: FakeTime) -> None:
    calls = itertools.count()

    def slow_then_fast(request: Request) -> Response:
        if next(calls) == 0:
            time.sleep(0.6)  # longer than the client's timeout
        return Response(json.dumps(_accepted()), status=200, content_type="application/json")

    graph.expect_request(PATH, method="POST").respond_with_handler(slow_then_fast)

    result = _sender(graph, fake_time, timeout_s=0.2).send(_message())

    assert (result.status, result.attempts) == ("sent", 2)
    assert fake_time.sleeps == [1.0]


def test_connection_refused_is_retryable(fake_time: FakeTime) -> None:
    sender = WhatsAppSender(
        TOKEN,
        PHONE_NUMBER_ID,
        base_url="http://127.0.0.1:9",
        max_retries=1,
        sleep=fake_time.sleep,
        clock=fake_time.clock,
    )
    result = sender.send(_message())
    assert (result.status, result.attempts) == ("failed_retryable", 2)
    assert "connection error" in (result.error or "")


def test_dry_run_renders_the_filled_body_and_makes_no_http_call(graph: HTTPServer, fake_time: FakeTime) -> None:
    message = _message(body="Oi {{1}}! Sua assinatura de {{2}} renova amanhã 🐶")

    result = _sender(graph, fake_time, dry_run=True).send(message)

    assert result.status == "dry_run"
    assert result.attempts == 0
    assert result.provider_id is None
    assert (
        result.rendered == "template lembrete_renovacao (pt_BR)\n\nOi Ana! Sua assinatura de R$ 89,90 renova amanhã 🐶"
    )
    assert graph.log == []
    assert fake_time.sleeps == []


def test_without_credentials_the_sender_is_a_dry_run(graph: HTTPServer) -> None:
    sender = WhatsAppSender(None, PHONE_NUMBER_ID, base_url=graph.url_for("/v21.0"))
    assert sender.dry_run
    result = sender.send(_message())
    assert result.status == "dry_run"
    assert result.rendered == "template lembrete_renovacao (pt_BR)\nbody parameters: Ana | R$ 89,90"
    assert graph.log == []


def test_a_parameter_count_mismatch_is_refused_before_sending(graph: HTTPServer, fake_time: FakeTime) -> None:
    message = _message(body="Oi {{1}}, seu pedido {{2}} saiu para entrega em {{3}}.")

    result = _sender(graph, fake_time).send(message)

    assert (result.status, result.attempts) == ("failed_permanent", 0)
    assert "{{1}}, {{2}}, {{3}}" in (result.error or "") and "2 body parameter(s)" in (result.error or "")
    assert graph.log == []


@pytest.mark.parametrize("recipient", ["+5511987654321", "55 11 98765-4321", "123", ""])
def test_a_recipient_that_is_not_a_wa_id_is_refused(graph: HTTPServer, fake_time: FakeTime, recipient: str) -> None:
    result = _sender(graph, fake_time).send(_message(recipient=recipient))
    assert (result.status, result.attempts) == ("failed_permanent", 0)
    assert graph.log == []


def test_a_message_for_another_channel_is_a_programming_error(graph: HTTPServer, fake_time: FakeTime) -> None:
    with pytest.raises(ValueError, match="channel"):
        _sender(graph, fake_time).send(OutboundMessage("k", "email", "ana@example.com", {}))


def test_log_lines_mask_the_phone_number(
    graph: HTTPServer, fake_time: FakeTime, caplog: pytest.LogCaptureFixture
) -> None:
    detail = f"Message failed to send to {WA_ID} because of too many messages"
    graph.expect_oneshot_request(PATH, method="POST").respond_with_json(
        _graph_error(131056, "(#131056) pair rate limit hit", detail), status=400
    )
    graph.expect_oneshot_request(PATH, method="POST").respond_with_json(_accepted())
    caplog.set_level(logging.DEBUG)

    assert _sender(graph, fake_time).send(_message()).status == "sent"

    assert WA_ID not in caplog.text
    assert MASKED in caplog.text
    assert TOKEN not in caplog.text
