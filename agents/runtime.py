"""The runtime every agent call goes through: cache, run records, validate-and-retry.

``AgentRuntime.run(agent, schema, messages=…, offline=…, validators=…)``:

1. **Offline provider** — calls ``offline()`` (the agent's deterministic logic), stamps the output
   ``generated_by="offline"``, runs the validators; invalid output raises :class:`GuardrailViolation`
   (no retry: the same data gives the same answer). Offline output is not cached: it costs nothing
   and must follow the data.
2. **LLM provider** — looks the request up in the cache, keyed by the sha256 of (agent, provider name
   and endpoint, model, schema name and a fingerprint of its JSON schema, prompt messages). A hit is
   validated again (the marts may have changed since); if it still passes it is returned without a
   model call, otherwise the entry is dropped. On a miss the provider is asked; the parsed output is
   stamped ``generated_by="llm"`` and validated (the schema first, then the guardrail validators). A
   failure is retried **once** with the rejected answer and the validation errors appended to the prompt;
   a second failure raises :class:`GuardrailViolation`. Only valid output is cached and returned.

Each call leaves one :class:`RunRecord` (tokens summed over attempts, latency, estimated cost, cache hit,
validation errors, retried) in ``runtime.records``; ``runtime.rows()`` gives them as plain dicts for a
warehouse table.

Cache storage: :class:`MemoryCache` (default, per process) or :class:`SqliteCache` (a small SQLite file
whose path the caller chooses, e.g. ``$CRO_DATA_DIR/agents/llm_cache.sqlite``; safe across threads and
processes, entries never expire: delete the file to clear it).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel, ValidationError

from agents.providers import AgentSettings, ChatProvider, Message, build_provider
from agents.schemas import LLM_NOTICE, OFFLINE_NOTICE

T = TypeVar("T", bound=BaseModel)
#: A guardrail: the output in, the list of what is wrong with it out (empty: valid).
Validator = Callable[[Any], Sequence[str]]


class GuardrailViolation(Exception):
    """An agent's output broke the schema or a business limit, also after the retry. Nothing is returned."""

    def __init__(self, agent: str, errors: Sequence[str], attempts: int) -> None:
        self.agent = agent
        self.errors = list(errors)
        self.attempts = attempts
        tries = "1 attempt" if attempts == 1 else f"{attempts} attempts"
        super().__init__(
            f"agent {agent!r}: output rejected after {tries}, nothing was returned: " + "; ".join(self.errors)
        )


@dataclass
class RunRecord:
    """One agent call, as a warehouse row (see :meth:`as_row`)."""

    run_id: str
    started_at: str
    agent: str
    provider: str
    model: str
    schema: str
    cache_key: str | None = None
    generated_by: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    latency_ms: float = 0.0
    cost_usd: float = 0.0
    cache_hit: bool = False
    attempts: int = 0
    retried: bool = False
    validation_errors: list[str] = field(default_factory=list)
    status: str = "ok"  # ok | rejected | error
    error: str | None = None

    def as_row(self) -> dict[str, Any]:
        row = asdict(self)
        row["validation_errors"] = json.dumps(self.validation_errors, ensure_ascii=False)
        return row


class ResponseCache(Protocol):
    def get(self, key: str) -> dict[str, Any] | None: ...
    def put(self, key: str, *, agent: str, schema: str, payload: dict[str, Any]) -> None: ...
    def delete(self, key: str) -> None: ...


class MemoryCache:
    """Valid outputs by cache key, for the life of the process."""

    def __init__(self) -> None:
        self._data: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            value = self._data.get(key)
            return json.loads(json.dumps(value)) if value is not None else None

    def put(self, key: str, *, agent: str, schema: str, payload: dict[str, Any]) -> None:
        with self._lock:
            self._data[key] = json.loads(json.dumps(payload))

    def delete(self, key: str) -> None:
        with self._lock:
            self._data.pop(key, None)

    def __len__(self) -> int:
        return len(self._data)


class SqliteCache:
    """Valid outputs in one SQLite table ``llm_cache(key, agent, schema, payload, created_at)``."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as con:
            con.execute(
                "create table if not exists llm_cache ("
                " key text primary key, agent text not null, schema text not null,"
                " payload text not null, created_at text not null)"
            )

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=30)

    def get(self, key: str) -> dict[str, Any] | None:
        con = self._connect()
        try:
            row = con.execute("select payload from llm_cache where key = ?", (key,)).fetchone()
        finally:
            con.close()
        return json.loads(row[0]) if row else None

    def put(self, key: str, *, agent: str, schema: str, payload: dict[str, Any]) -> None:
        now = dt.datetime.now(dt.UTC).isoformat()
        con = self._connect()
        try:
            with con:
                con.execute(
                    "insert or replace into llm_cache (key, agent, schema, payload, created_at) values (?, ?, ?, ?, ?)",
                    (key, agent, schema, json.dumps(payload, ensure_ascii=False), now),
                )
        finally:
            con.close()

    def delete(self, key: str) -> None:
        con = self._connect()
        try:
            with con:
                con.execute("delete from llm_cache where key = ?", (key,))
        finally:
            con.close()

    def __len__(self) -> int:
        con = self._connect()
        try:
            return int(con.execute("select count(*) from llm_cache").fetchone()[0])
        finally:
            con.close()


def schema_fingerprint(schema: type[BaseModel]) -> str:
    return hashlib.sha256(json.dumps(schema.model_json_schema(), sort_keys=True).encode()).hexdigest()[:16]


def cache_key(agent: str, provider: ChatProvider, schema: type[BaseModel], messages: Sequence[Message]) -> str:
    """sha256 of everything that decides the answer: agent, provider, endpoint, model, schema, prompt."""
    payload = {
        "agent": agent,
        "provider": provider.name,
        "endpoint": provider.endpoint,
        "model": provider.model,
        "schema": schema.__name__,
        "schema_fingerprint": schema_fingerprint(schema),
        "messages": [[role, content] for role, content in messages],
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def retry_message(errors: Sequence[str]) -> str:
    listed = "\n".join(f"- {e}" for e in errors)
    return (
        "Your previous answer was rejected by validation:\n"
        f"{listed}\n"
        "Return a corrected answer in the same schema that fixes every error above."
    )


class AgentRuntime:
    """Runs agent calls through one provider, with cache, run records and validate-and-retry."""

    def __init__(
        self,
        provider: ChatProvider,
        *,
        cache: ResponseCache | None = None,
        price_per_1k_input: float = 0.0,
        price_per_1k_output: float = 0.0,
        max_attempts: int = 2,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.provider = provider
        self.cache: ResponseCache = cache if cache is not None else MemoryCache()
        self.price_per_1k_input = price_per_1k_input
        self.price_per_1k_output = price_per_1k_output
        self.max_attempts = max_attempts
        self.records: list[RunRecord] = []
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: AgentSettings, *, cache_path: str | Path | None = None) -> AgentRuntime:
        """The runtime for ``settings``; ``cache_path`` selects a SQLite cache file (default: in memory)."""
        return cls(
            build_provider(settings),
            cache=SqliteCache(cache_path) if cache_path else None,
            price_per_1k_input=settings.price_per_1k_input,
            price_per_1k_output=settings.price_per_1k_output,
        )

    @property
    def is_llm(self) -> bool:
        return self.provider.is_llm

    def rows(self) -> list[dict[str, Any]]:
        """The run records as plain dicts (``validation_errors`` as a JSON string), for a warehouse table."""
        with self._lock:
            return [r.as_row() for r in self.records]

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        return round(input_tokens / 1000 * self.price_per_1k_input + output_tokens / 1000 * self.price_per_1k_output, 8)

    def _stamp(self, output: T) -> T:
        if self.provider.is_llm:
            notice = LLM_NOTICE.format(provider=self.provider.name, model=self.provider.model)
            return output.model_copy(update={"generated_by": "llm", "notice": notice})
        return output.model_copy(update={"generated_by": "offline", "notice": OFFLINE_NOTICE})

    @staticmethod
    def _validate(output: BaseModel, validators: Sequence[Validator]) -> list[str]:
        errors: list[str] = []
        for validator in validators:
            errors.extend(validator(output))
        return errors

    def run(
        self,
        agent: str,
        schema: type[T],
        *,
        messages: Sequence[Message] | None = None,
        offline: Callable[[], T] | None = None,
        validators: Sequence[Validator] = (),
    ) -> T:
        """One agent call; returns valid output or raises :class:`GuardrailViolation` (see the module doc)."""
        record = RunRecord(
            run_id=uuid.uuid4().hex,
            started_at=dt.datetime.now(dt.UTC).isoformat(),
            agent=agent,
            provider=self.provider.name,
            model=self.provider.model,
            schema=schema.__name__,
            generated_by="llm" if self.provider.is_llm else "offline",
        )
        started = time.perf_counter()
        try:
            if self.provider.is_llm:
                if messages is None:
                    raise ValueError(f"agent {agent!r}: an LLM provider needs prompt messages")
                return self._run_llm(record, agent, schema, list(messages), validators)
            if offline is None:
                raise ValueError(f"agent {agent!r} has no offline logic for the offline provider")
            record.attempts = 1
            output = self._stamp(offline())
            errors = self._validate(output, validators)
            if errors:
                record.validation_errors = errors
                raise GuardrailViolation(agent, errors, 1)
            return output
        except GuardrailViolation:
            record.status = "rejected"
            raise
        except Exception as exc:
            record.status = "error"
            record.error = f"{type(exc).__name__}: {exc}"
            raise
        finally:
            record.latency_ms = round((time.perf_counter() - started) * 1000, 3)
            record.cost_usd = self.cost(record.input_tokens, record.output_tokens)
            with self._lock:
                self.records.append(record)

    def _run_llm(
        self, record: RunRecord, agent: str, schema: type[T], messages: list[Message], validators: Sequence[Validator]
    ) -> T:
        key = cache_key(agent, self.provider, schema, messages)
        record.cache_key = key
        cached = self.cache.get(key)
        if cached is not None:
            try:
                hit: T | None = self._stamp(schema.model_validate(cached))
            except ValidationError:
                hit = None
            if hit is not None and not self._validate(hit, validators):
                record.cache_hit = True
                return hit
            self.cache.delete(key)  # stale: the schema or the facts behind the validators changed

        prompt = messages
        errors: list[str] = []
        for attempt in range(1, self.max_attempts + 1):
            record.attempts = attempt
            result = self.provider.generate(schema, prompt)
            record.input_tokens += result.input_tokens
            record.output_tokens += result.output_tokens
            if result.parsed is None:
                errors = [result.error or f"no {schema.__name__} in the answer"]
            else:
                output: T = self._stamp(result.parsed)  # type: ignore[arg-type]
                errors = self._validate(output, validators)
                if not errors:
                    self.cache.put(key, agent=agent, schema=schema.__name__, payload=output.model_dump(mode="json"))
                    return output
            record.validation_errors.extend(f"attempt {attempt}: {e}" for e in errors)
            if attempt < self.max_attempts:
                record.retried = True
                previous = result.raw_text or (
                    result.parsed.model_dump_json() if result.parsed is not None else "(no parsable answer)"
                )
                prompt = [*messages, ("ai", previous), ("human", retry_message(errors))]
        raise GuardrailViolation(agent, errors, record.attempts)


__all__ = [
    "AgentRuntime",
    "GuardrailViolation",
    "MemoryCache",
    "ResponseCache",
    "RunRecord",
    "SqliteCache",
    "Validator",
    "cache_key",
    "retry_message",
    "schema_fingerprint",
]
