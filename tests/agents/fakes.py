"""LangChain fake chat models as providers, recording what they were asked."""

from __future__ import annotations

import json
from typing import Any

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatResult
from pydantic import BaseModel, Field

from agents.providers import LangChainProvider


class RecordingFakeChatModel(GenericFakeChatModel):
    """LangChain's generic fake chat model that keeps every prompt it was given."""

    seen: list[list[BaseMessage]] = Field(default_factory=list)

    def _generate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any
    ) -> ChatResult:
        self.seen.append(list(messages))
        return super()._generate(messages, stop=stop, run_manager=run_manager, **kwargs)


def answer(payload: BaseModel | dict[str, Any] | str, *, input_tokens: int = 100, output_tokens: int = 20) -> AIMessage:
    """An AI message whose content is the JSON of ``payload``, with token usage."""
    if isinstance(payload, BaseModel):
        text = payload.model_dump_json()
    elif isinstance(payload, dict):
        text = json.dumps(payload)
    else:
        text = payload
    usage = {"input_tokens": input_tokens, "output_tokens": output_tokens, "total_tokens": input_tokens + output_tokens}
    return AIMessage(content=text, usage_metadata=usage)  # type: ignore[arg-type]


def fake_provider(*answers: AIMessage) -> tuple[LangChainProvider, RecordingFakeChatModel]:
    model = RecordingFakeChatModel(messages=iter(answers))
    return LangChainProvider(model, name="fake", model="fake-model"), model
