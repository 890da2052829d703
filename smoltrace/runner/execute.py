"""One task execution: a root ``smoltrace.task`` span around a fresh agent's run, with a time limit
and a stop reason that the views turn into verdicts."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from opentelemetry import context as otel_context
from opentelemetry.context import Context
from opentelemetry.trace import Status, StatusCode, Tracer
from smolagents.utils import AgentMaxStepsError

from smoltrace.runner.tasks import Task

STOP_REASONS = ("final_answer", "max_steps", "timeout", "error", "interrupted")


@dataclass
class TaskOutcome:
    task: Task
    agent_type: str
    stop_reason: str
    answer: str | None
    error: str | None
    repeat: int = 0  # which try of this task x agent type (--repeats)


def task_attributes(task: Task, agent_type: str, run_attributes: dict, repeat: int = 0) -> dict:
    attributes = {
        **run_attributes,
        "smoltrace.task.id": task.id,
        "smoltrace.task.uid": task.uid(agent_type),
        "smoltrace.task.repeat": repeat,  # 0..N-1 with --repeats N: the statistics views pool the tries
        "smoltrace.task.difficulty": task.difficulty,
        "smoltrace.task.category": task.category,
        "smoltrace.agent.type": agent_type,
        "smoltrace.task.prompt": task.prompt,
        "smoltrace.task.expected_keywords": list(task.expected_keywords),
    }
    if task.expected_tool:
        attributes["smoltrace.task.expected_tool"] = task.expected_tool
    if task.expected_tool_calls is not None:
        attributes["smoltrace.task.expected_tool_calls"] = task.expected_tool_calls
    if task.answer is not None:
        attributes["smoltrace.task.expected_answer"] = task.answer
    return attributes


def error_text(exc: BaseException) -> str:
    """``Type: message``, and the exception it wraps when there is one: smolagents wraps a failed model
    call in an AgentGenerationError whose message omits the provider's exception class, and that class
    (a rate limit, a lost connection...) is what ``--resume`` reads to tell a transient failure from a
    lasting one (smoltrace/runner/resume.py)."""
    text = f"{type(exc).__name__}: {exc}"
    cause = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
    if cause is not None:
        kind = type(cause)
        name = kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"
        text += f" (caused by {name})"
    return text


def reached_max_steps(agent) -> bool:
    """smolagents' own test for RunResult.state == "max_steps_error": the last step failed on max steps."""
    steps = agent.memory.steps
    return bool(steps) and isinstance(getattr(steps[-1], "error", None), AgentMaxStepsError)


def execute_task(
    tracer: Tracer,
    task: Task,
    agent_type: str,
    make_agent: Callable[[str], object],
    *,
    run_attributes: dict,
    timeout_s: float | None,
    cancelled: threading.Event,
    repeat: int = 0,
) -> TaskOutcome:
    """Run ``task`` on a fresh agent of ``agent_type``; never raises, never outlives ``timeout_s``.

    The agent runs in its own thread so that a time limit or Ctrl-C can end the task span at once;
    the agent is told to stop (``agent.interrupt()``) and stops at its next step boundary.
    """
    with tracer.start_as_current_span(
        "smoltrace.task", context=Context(), attributes=task_attributes(task, agent_type, run_attributes, repeat)
    ) as span:
        box: dict = {}
        agent = None
        try:
            agent = make_agent(agent_type)
        except Exception as exc:
            box["error"] = exc
        parent = otel_context.get_current()

        def run_agent():
            token = otel_context.attach(parent)
            try:
                # Not return_full_result: its RunResult deep-copies every step, and OpenInference would
                # store its whole repr as the run span's output (~14 KB per task, measured).
                box["output"] = agent.run(task.prompt)
                box["reached_max_steps"] = reached_max_steps(agent)
            except BaseException as exc:  # noqa: BLE001 - recorded as the task's error
                box["error"] = exc
            finally:
                otel_context.detach(token)

        stop_reason = None
        if agent is not None:
            worker = threading.Thread(target=run_agent, name=f"task-{task.uid(agent_type)}", daemon=True)
            worker.start()
            deadline = None if timeout_s is None else time.monotonic() + timeout_s
            while worker.is_alive():
                worker.join(0.05)
                if cancelled.is_set():
                    stop_reason = "interrupted"
                elif deadline is not None and time.monotonic() >= deadline:
                    stop_reason = "timeout"
                if stop_reason:
                    # The agent stops at its next step boundary; the task ends now, so a hung model call
                    # can never hold the run. Its late spans still land under this task's trace.
                    agent.interrupt()
                    break

        answer, error = None, None
        if stop_reason == "timeout":
            error = f"task exceeded the {timeout_s:g}s time limit"
        elif stop_reason == "interrupted":
            error = "run interrupted"
        elif "error" in box:
            stop_reason, error = "error", error_text(box["error"])
        else:
            stop_reason = "max_steps" if box["reached_max_steps"] else "final_answer"
            answer = None if box["output"] is None else str(box["output"])
            if stop_reason == "max_steps":
                error = "reached max_steps without a final answer"

        span.set_attribute("smoltrace.task.stop_reason", stop_reason)
        if answer is not None:
            span.set_attribute("smoltrace.task.answer", answer)
        if error is not None:
            span.set_attribute("smoltrace.task.error", error)
            if stop_reason != "max_steps":
                span.set_status(Status(StatusCode.ERROR, error))
        return TaskOutcome(task, agent_type, stop_reason, answer, error, repeat)
