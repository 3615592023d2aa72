"""A fake Slack Web API (``chat.postMessage``) at the HTTP boundary, for slack-sdk's WebClient via pytest-httpserver.

Written from Slack's method documentation, independently of the notifier:

* ``POST /api/chat.postMessage`` with ``Authorization: Bearer xoxb-…``: ``{"ok": false, "error":
  "not_authed"}`` without a token, ``invalid_auth`` with a wrong one (HTTP 200, as Slack does);
* ``channel`` must be a known channel id or ``#name`` (``channel_not_found``); the bot must be a
  member (``not_in_channel``); ``text`` or ``blocks`` required (``no_text``);
* Block Kit limits checked (``invalid_blocks``): ≤ 50 blocks, header text ≤ 150, section text ≤
  3,000, ≤ 10 context elements;
* success is Slack's documented body: ``{"ok": true, "channel": "C123", "ts": "1503435956.000247",
  "message": {...}}``;
* failures injected with :meth:`FakeSlack.fail_next`: 429 with ``Retry-After`` and
  ``{"ok": false, "error": "ratelimited"}``, 5xx with a non-JSON body as a load balancer sends.
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

CHANNELS = {"C123": "growth", "C456": "finance", "C999": "diretoria"}
MEMBER_OF = {"C123", "C456"}


@dataclass
class FakeSlack:
    server: HTTPServer
    token: str = "fake-slack-bot-token"  # not a real credential
    posted: list[dict[str, Any]] = field(default_factory=list)
    failures: deque[tuple[int, str | None]] = field(default_factory=deque)
    _ts: int = 1503435956

    def install(self) -> FakeSlack:
        self.server.expect_request("/api/chat.postMessage", method="POST").respond_with_handler(self._post)
        return self

    @property
    def base_url(self) -> str:
        return self.server.url_for("/api/")

    @property
    def requests(self) -> list[Request]:
        return [request for request, _ in self.server.log]

    def fail_next(self, *statuses: int, retry_after: str | None = None) -> None:
        self.failures.extend((status, retry_after) for status in statuses)

    def _post(self, request: Request) -> Response:
        if self.failures:
            status, retry_after = self.failures.popleft()
            if status == 429:
                headers = {"Retry-After": retry_after} if retry_after is not None else {}
                return _json({"ok": False, "error": "ratelimited"}, status=429, headers=headers)
            return Response("<html><body>upstream connect error</body></html>", status=status, content_type="text/html")
        auth = request.headers.get("Authorization", "")
        if not auth:
            return _json({"ok": False, "error": "not_authed"})
        if auth != f"Bearer {self.token}":
            return _json({"ok": False, "error": "invalid_auth"})
        body = json.loads(request.get_data() or b"{}")
        channel = self._channel_id(str(body.get("channel", "")))
        if channel is None:
            return _json({"ok": False, "error": "channel_not_found"})
        if channel not in MEMBER_OF:
            return _json({"ok": False, "error": "not_in_channel"})
        blocks = body.get("blocks")
        if not body.get("text") and not blocks:
            return _json({"ok": False, "error": "no_text"})
        problems = _block_problems(blocks or [])
        if problems:
            return _json({"ok": False, "error": "invalid_blocks", "errors": problems})
        self._ts += 1
        ts = f"{self._ts}.000247"
        message = {
            "type": "message",
            "subtype": "bot_message",
            "text": body.get("text", ""),
            "ts": ts,
            "username": "cro-agent",
            "bot_id": "B123ABC456",
        }
        if blocks:
            message["blocks"] = blocks
        self.posted.append({"channel": channel, **message})
        return _json({"ok": True, "channel": channel, "ts": ts, "message": message})

    @staticmethod
    def _channel_id(channel: str) -> str | None:
        if channel in CHANNELS:
            return channel
        names = {f"#{name}": cid for cid, name in CHANNELS.items()}
        return names.get(channel)


def _block_problems(blocks: list[dict[str, Any]]) -> list[str]:
    problems = []
    if len(blocks) > 50:
        problems.append("no more than 50 items allowed [json-pointer:/blocks]")
    for n, block in enumerate(blocks):
        kind = block.get("type")
        if kind == "header" and len(block["text"]["text"]) > 150:
            problems.append(f"must be less than 151 characters [json-pointer:/blocks/{n}/text/text]")
        if kind == "section" and len(block["text"]["text"]) > 3000:
            problems.append(f"must be less than 3001 characters [json-pointer:/blocks/{n}/text/text]")
        if kind == "context" and len(block["elements"]) > 10:
            problems.append(f"no more than 10 items allowed [json-pointer:/blocks/{n}/elements]")
    return problems


def _json(body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status=status, headers=headers or {}, content_type="application/json")
