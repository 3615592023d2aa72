"""Chat providers: who (if anyone) writes an agent's structured output.

* :class:`OfflineProvider` — no model. Agents see ``provider.is_llm == False`` and fill their output
  schema with their own deterministic, data-driven logic; the output says so (``generated_by="offline"``).
* :class:`LangChainProvider` — any LangChain chat model. Structured output goes through the model's
  ``with_structured_output(schema, include_raw=True)`` so the raw message (and its token usage) is kept;
  a model without structured-output support (LangChain's fake chat models, a bare local server) is asked
  for one JSON object and the text is validated with the Pydantic schema instead.
* :class:`OpenAIProvider` — :class:`LangChainProvider` over ``langchain_openai.ChatOpenAI``, for OpenAI or
  any OpenAI-compatible server (vLLM, Ollama, …) through ``base_url``. ``ChatOpenAI.with_structured_output``
  defaults to ``method="json_schema"`` (the response's message content is the JSON object); tool calling
  (``"function_calling"``) is a setting for servers without ``response_format`` support. With
  ``json_schema`` the OpenAI SDK validates the content itself: an answer that breaks the schema raises
  before LangChain returns the message, so that attempt is retried but its tokens are not recorded
  (``function_calling`` keeps them: LangChain parses the tool call and returns the raw message).

Configuration is passed in. The only place in ``agents/`` that reads environment variables is
:meth:`AgentSettings.from_env`, given the mapping to read:

==============================  ============================================================  ==============
variable                        meaning                                                       default
==============================  ============================================================  ==============
``CRO_LLM_PROVIDER``            ``offline`` or ``openai``                                     ``offline``
``OPENAI_API_KEY``              API key (required for api.openai.com; optional with a         —
                                ``OPENAI_BASE_URL``: local servers take any key)
``OPENAI_BASE_URL``             an OpenAI-compatible endpoint, e.g. ``http://vllm:8000/v1``   api.openai.com
``CRO_LLM_MODEL``               model name                                                    ``gpt-4o-mini``
``CRO_LLM_PRICE_PER_1K_INPUT``  USD per 1,000 input tokens, for cost estimates                ``0.00015``
``CRO_LLM_PRICE_PER_1K_OUTPUT`` USD per 1,000 output tokens                                   ``0.0006``
``CRO_LLM_TIMEOUT_S``           request timeout, seconds                                      ``60``
``CRO_LLM_STRUCTURED_OUTPUT``   ``json_schema``, ``function_calling`` or ``json_mode``        ``json_schema``
==============================  ============================================================  ==============

(The price defaults are gpt-4o-mini's list prices; set both when you change the model.)
"""

from __future__ import annotations

import json
import os
import re
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ValidationError

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel
    from langchain_core.messages import BaseMessage

#: A prompt message: (role, content) with role ``system``, ``human`` or ``ai``.
Message = tuple[str, str]
StructuredMethod = Literal["json_schema", "function_calling", "json_mode"]

DEFAULT_MODEL = "gpt-4o-mini"
DEFAULT_OPENAI_BASE_URL = "https://api.openai.com/v1"
DEFAULT_PRICE_PER_1K_INPUT = 0.00015
DEFAULT_PRICE_PER_1K_OUTPUT = 0.0006

ENV_VARS = (
    "CRO_LLM_PROVIDER",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "CRO_LLM_MODEL",
    "CRO_LLM_PRICE_PER_1K_INPUT",
    "CRO_LLM_PRICE_PER_1K_OUTPUT",
    "CRO_LLM_TIMEOUT_S",
    "CRO_LLM_STRUCTURED_OUTPUT",
)


@dataclass(frozen=True)
class ProviderResult:
    """One model call: the parsed output or why there is none, and the tokens it cost."""

    parsed: BaseModel | None
    raw_text: str | None = None
    error: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0


class OfflineProviderError(RuntimeError):
    """Something asked the offline provider for model output."""


class ChatProvider(ABC):
    """Where structured output comes from. ``name``/``model``/``endpoint`` identify it (cache key, run records)."""

    name: str
    model: str
    endpoint: str = ""

    @property
    def is_llm(self) -> bool:
        return True

    @abstractmethod
    def generate(self, schema: type[BaseModel], messages: Sequence[Message]) -> ProviderResult:
        """Ask for one instance of ``schema``; never raises for output that does not match it (see ``error``)."""


class OfflineProvider(ChatProvider):
    """No model: agents use their deterministic, data-driven logic."""

    name = "offline"
    model = "offline"

    @property
    def is_llm(self) -> bool:
        return False

    def generate(self, schema: type[BaseModel], messages: Sequence[Message]) -> ProviderResult:
        raise OfflineProviderError("the offline provider has no model: use the agent's offline logic")


def to_langchain_messages(messages: Sequence[Message]) -> list[BaseMessage]:
    from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

    kinds = {"system": SystemMessage, "human": HumanMessage, "user": HumanMessage, "ai": AIMessage}
    out: list[BaseMessage] = []
    for role, content in messages:
        if role not in kinds:
            raise ValueError(f"unknown message role {role!r}: use system, human or ai")
        out.append(kinds[role](content=content))
    return out


def _usage(message: Any) -> tuple[int, int]:
    usage = getattr(message, "usage_metadata", None) or {}
    return int(usage.get("input_tokens") or 0), int(usage.get("output_tokens") or 0)


def _raw_text(message: Any) -> str | None:
    if message is None:
        return None
    tool_calls = getattr(message, "tool_calls", None)
    if tool_calls:
        return json.dumps(tool_calls[0].get("args", {}), ensure_ascii=False, default=str)
    content = getattr(message, "content", None)
    if isinstance(content, str):
        return content
    return json.dumps(content, ensure_ascii=False, default=str) if content else None


_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$", re.IGNORECASE)


def parse_json_text(schema: type[BaseModel], text: str) -> BaseModel:
    """Validate a model's text answer (a JSON object, possibly in a ``` fence) against ``schema``."""
    body = _FENCE.sub("", text.strip())
    start, end = body.find("{"), body.rfind("}")
    if start == -1 or end < start:
        raise ValueError("the answer holds no JSON object")
    return schema.model_validate_json(body[start : end + 1])


def _output_errors() -> tuple[type[BaseException], ...]:
    """Exceptions that mean "the model's output did not fit the schema" (worth a retry), not a failed call."""
    from langchain_core.exceptions import OutputParserException

    errors: list[type[BaseException]] = [ValidationError, json.JSONDecodeError, OutputParserException]
    try:
        from openai import ContentFilterFinishReasonError, LengthFinishReasonError

        errors += [LengthFinishReasonError, ContentFilterFinishReasonError]
    except ImportError:  # pragma: no cover - older openai
        pass
    return tuple(errors)


class LangChainProvider(ChatProvider):
    """Any LangChain chat model.

    ``method`` is passed to ``with_structured_output`` (``None``: the model's default). Models that do not
    implement structured output get the schema in the prompt and must answer with one JSON object.
    """

    def __init__(
        self,
        chat_model: BaseChatModel,
        *,
        name: str = "langchain",
        model: str | None = None,
        method: StructuredMethod | None = None,
        endpoint: str = "",
    ) -> None:
        self.chat_model = chat_model
        self.name = name
        self.model = model or getattr(chat_model, "model_name", None) or type(chat_model).__name__
        self.method = method
        self.endpoint = endpoint

    def generate(self, schema: type[BaseModel], messages: Sequence[Message]) -> ProviderResult:
        lc_messages = to_langchain_messages(messages)
        kwargs: dict[str, Any] = {"include_raw": True}
        if self.method:
            kwargs["method"] = self.method
        try:
            structured = self.chat_model.with_structured_output(schema, **kwargs)
        except NotImplementedError:
            return self._generate_json_text(schema, lc_messages)
        try:
            out = structured.invoke(lc_messages)
        except _output_errors() as exc:
            # e.g. the OpenAI SDK validates json_schema content itself and raises before LangChain sees it
            return ProviderResult(None, error=f"the output does not match {schema.__name__}: {exc}")
        raw = out.get("raw")
        tokens_in, tokens_out = _usage(raw)
        text = _raw_text(raw)
        if out.get("parsing_error") is not None:
            error = f"the output does not match {schema.__name__}: {out['parsing_error']}"
            return ProviderResult(None, text, error, tokens_in, tokens_out)
        parsed = out.get("parsed")
        if parsed is None:
            return ProviderResult(None, text, f"no {schema.__name__} in the answer", tokens_in, tokens_out)
        if not isinstance(parsed, schema):
            try:
                parsed = schema.model_validate(parsed if isinstance(parsed, dict) else parsed.model_dump())
            except ValidationError as exc:
                return ProviderResult(
                    None, text, f"the output does not match {schema.__name__}: {exc}", tokens_in, tokens_out
                )
        return ProviderResult(parsed, text, None, tokens_in, tokens_out)

    def _generate_json_text(self, schema: type[BaseModel], lc_messages: list[BaseMessage]) -> ProviderResult:
        from langchain_core.messages import SystemMessage

        instruction = (
            f"Answer with one JSON object only, no prose, matching this JSON schema ({schema.__name__}):\n"
            + json.dumps(schema.model_json_schema(), ensure_ascii=False)
        )
        message = self.chat_model.invoke([*lc_messages, SystemMessage(content=instruction)])
        tokens_in, tokens_out = _usage(message)
        text = _raw_text(message) or ""
        try:
            parsed = parse_json_text(schema, text)
        except ValueError as exc:  # ValidationError and JSONDecodeError are ValueErrors
            return ProviderResult(
                None, text, f"the output does not match {schema.__name__}: {exc}", tokens_in, tokens_out
            )
        return ProviderResult(parsed, text, None, tokens_in, tokens_out)


class OpenAIProvider(LangChainProvider):
    """``ChatOpenAI`` on OpenAI or any OpenAI-compatible server."""

    def __init__(
        self,
        *,
        model: str = DEFAULT_MODEL,
        api_key: str | None = None,
        base_url: str | None = None,
        method: StructuredMethod = "json_schema",
        timeout_s: float = 60.0,
        max_retries: int = 2,
        temperature: float | None = None,
    ) -> None:
        from langchain_openai import ChatOpenAI
        from pydantic import SecretStr

        endpoint = (base_url or DEFAULT_OPENAI_BASE_URL).rstrip("/")
        if not api_key and endpoint == DEFAULT_OPENAI_BASE_URL:
            raise ValueError("OpenAIProvider needs an api_key for api.openai.com (OPENAI_API_KEY)")
        chat = ChatOpenAI(
            model=model,
            api_key=SecretStr(api_key or "unused"),  # local OpenAI-compatible servers accept any key
            base_url=endpoint,  # explicit, so the client never falls back to an environment variable
            timeout=timeout_s,
            max_retries=max_retries,
            temperature=temperature,
        )
        super().__init__(chat, name="openai", model=model, method=method, endpoint=endpoint)


def _float(environ: Mapping[str, str], name: str, default: float) -> float:
    value = environ.get(name, "").strip()
    if not value:
        return default
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if number < 0:
        raise ValueError(f"{name} must not be negative, got {value!r}")
    return number


@dataclass(frozen=True)
class AgentSettings:
    """Which provider the agents use and how to reach it. The API key never appears in ``repr``."""

    provider: Literal["offline", "openai"] = "offline"
    model: str = DEFAULT_MODEL
    api_key: str | None = field(default=None, repr=False)
    base_url: str | None = None
    price_per_1k_input: float = DEFAULT_PRICE_PER_1K_INPUT
    price_per_1k_output: float = DEFAULT_PRICE_PER_1K_OUTPUT
    timeout_s: float = 60.0
    structured_output: StructuredMethod = "json_schema"

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str] | None = None,
        *,
        default_provider: str = "offline",
        require_credentials: bool = True,
    ) -> AgentSettings:
        """Read the variables in this module's docstring from ``environ`` (default ``os.environ``).

        ``default_provider`` applies when ``CRO_LLM_PROVIDER`` is unset (the orchestration passes ``openai``
        in production, as its own settings do). ``require_credentials=False`` skips the check that
        ``openai`` has a key or a local server: the orchestration reads the other values when a code
        location loads and checks the credentials when an agent runs (:meth:`check`).
        """
        env = os.environ if environ is None else environ
        provider = env.get("CRO_LLM_PROVIDER", "").strip().lower() or default_provider
        if provider not in ("offline", "openai"):
            raise ValueError(f"CRO_LLM_PROVIDER must be 'offline' or 'openai', got {provider!r}")
        method = env.get("CRO_LLM_STRUCTURED_OUTPUT", "").strip() or "json_schema"
        if method not in ("json_schema", "function_calling", "json_mode"):
            raise ValueError(
                f"CRO_LLM_STRUCTURED_OUTPUT must be json_schema, function_calling or json_mode, got {method!r}"
            )
        api_key = env.get("OPENAI_API_KEY", "").strip() or None
        base_url = env.get("OPENAI_BASE_URL", "").strip() or None
        timeout = _float(env, "CRO_LLM_TIMEOUT_S", 60.0)
        settings = cls(
            provider=provider,  # type: ignore[arg-type]
            model=env.get("CRO_LLM_MODEL", "").strip() or DEFAULT_MODEL,
            api_key=api_key,
            base_url=base_url,
            price_per_1k_input=_float(env, "CRO_LLM_PRICE_PER_1K_INPUT", DEFAULT_PRICE_PER_1K_INPUT),
            price_per_1k_output=_float(env, "CRO_LLM_PRICE_PER_1K_OUTPUT", DEFAULT_PRICE_PER_1K_OUTPUT),
            timeout_s=timeout if timeout > 0 else 60.0,
            structured_output=method,  # type: ignore[arg-type]
        )
        if require_credentials:
            settings.check()
        return settings

    def check(self) -> None:
        """Raise ``ValueError`` when the provider cannot work as configured (saying what to set)."""
        if self.provider == "openai" and not self.api_key and not self.base_url:
            raise ValueError(
                "CRO_LLM_PROVIDER=openai needs OPENAI_API_KEY (or OPENAI_BASE_URL of a local OpenAI-compatible "
                "server such as vLLM or Ollama); or set CRO_LLM_PROVIDER=offline"
            )

    def describe(self) -> dict[str, str]:
        """What is configured, for a doctor command: never the key itself."""
        return {
            "provider": self.provider,
            "model": self.model if self.provider == "openai" else "-",
            "base_url": (self.base_url or DEFAULT_OPENAI_BASE_URL) if self.provider == "openai" else "-",
            "api_key": "set" if self.api_key else "not set",
            "structured_output": self.structured_output,
        }


def build_provider(settings: AgentSettings) -> ChatProvider:
    if settings.provider == "offline":
        return OfflineProvider()
    return OpenAIProvider(
        model=settings.model,
        api_key=settings.api_key,
        base_url=settings.base_url,
        method=settings.structured_output,
        timeout_s=settings.timeout_s,
    )


__all__ = [
    "DEFAULT_MODEL",
    "DEFAULT_OPENAI_BASE_URL",
    "ENV_VARS",
    "AgentSettings",
    "ChatProvider",
    "LangChainProvider",
    "Message",
    "OfflineProvider",
    "OfflineProviderError",
    "OpenAIProvider",
    "ProviderResult",
    "build_provider",
    "parse_json_text",
    "to_langchain_messages",
]
