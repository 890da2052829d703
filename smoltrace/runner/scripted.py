"""A scripted model for tests, benchmarks and dry runs: real litellm responses (``mock_response`` /
``mock_tool_calls``, with litellm's fixed token usage), chosen from a script instead of a paid API.

Like inspect_ai's ``mockllm``: the agent, the instrumentation and the spans are all real; only the
model's words are fixed in advance::

    script = {
        "What's the weather in Tokyo?": [
            call("get_weather", location="Tokyo"),
            call("final_answer", answer="Tokyo: 18°C, Clear"),
        ],
    }
    model = ScriptedModel(script)

The response for a call is chosen by the task prompt (the first user message) and by how many steps the
conversation already holds (its tool-response messages), so one script serves concurrent tasks.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

from smolagents import LiteLLMModel


@dataclass(frozen=True)
class Reply:
    content: str | None = None
    tool_calls: tuple = field(default_factory=tuple)


def call(tool_name: str, **arguments) -> Reply:
    """A reply that calls one tool (ToolCallingAgent)."""
    return Reply(tool_calls=((tool_name, arguments),))


def say(text: str) -> Reply:
    """A plain text reply (a CodeAgent's thought and code block)."""
    return Reply(content=text)


class ScriptedModel(LiteLLMModel):
    """``script``: task prompt → replies in order; ``default`` answers anything else; ``delay_s`` makes
    each call take that long (for concurrency benchmarks); ``fail_with`` raises instead of answering."""

    def __init__(self, script: dict[str, list[Reply]] | None = None, *, default: Reply | None = None,
                 delay_s: float = 0.0, fail_with: Exception | None = None, model_id: str = "gpt-4o-mini",
                 **kwargs):  # fmt: skip
        kwargs.setdefault("api_key", "scripted-no-key")
        super().__init__(model_id=model_id, **kwargs)
        self.script = script or {}
        self.default = default or say("I cannot help with that.")
        self.delay_s = delay_s
        self.fail_with = fail_with

    def _reply_for(self, messages) -> Reply:
        prompt, answered = None, 0
        for message in messages:
            role = getattr(message, "role", None) or message.get("role")
            role = getattr(role, "value", role)
            if role == "user" and prompt is None:
                content = getattr(message, "content", None) if not isinstance(message, dict) else message["content"]
                prompt = content if isinstance(content, str) else " ".join(
                    part.get("text", "") for part in content or [] if isinstance(part, dict))  # fmt: skip
            elif role == "tool-response":  # one per finished step, for both agent types
                answered += 1
        for key, replies in self.script.items():
            if prompt and key in prompt:
                return replies[answered] if answered < len(replies) else replies[-1]
        return self.default

    def generate(self, messages, stop_sequences=None, response_format=None, tools_to_call_from=None, **kwargs):
        if self.delay_s:
            time.sleep(self.delay_s)
        if self.fail_with is not None:
            raise self.fail_with
        reply = self._reply_for(messages)
        if reply.tool_calls:
            kwargs["mock_tool_calls"] = [
                {"id": f"call_{index}", "type": "function",
                 "function": {"name": name, "arguments": json.dumps(arguments)}}
                for index, (name, arguments) in enumerate(reply.tool_calls)
            ]  # fmt: skip
            kwargs["mock_response"] = reply.content or ""
        else:
            kwargs["mock_response"] = reply.content or ""
        return super().generate(messages, stop_sequences=stop_sequences, response_format=response_format,
                                tools_to_call_from=tools_to_call_from, **kwargs)  # fmt: skip
