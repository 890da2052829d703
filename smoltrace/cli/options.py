"""What the smoltrace commands share: SMOLTRACE's ``--flag a b c`` options, the ``.env`` file, and
``--model-args`` values.

SMOLTRACE is argparse with ``nargs="+"`` (``--model-args temperature=0.7 top_p=0.9``,
``--enable-tools google_search visit_webpage``); click has no such options, so ``SmoltraceCommand``
rewrites ``--flag a b`` into ``--flag a --flag b`` before click parses (the commands take no
positional arguments, so every word up to the next option belongs to the flag). Repeating the flag
works too.
"""

from __future__ import annotations

import json
from pathlib import Path

import click


def load_env_file() -> Path | None:
    """Read the first ``.env`` found in the current folder or above it with python-dotenv, as SMOLTRACE
    does (``KEY=value``, ``export``, quotes, ``${VAR}``); variables already set in the environment win."""
    from dotenv import find_dotenv, load_dotenv

    found = find_dotenv(usecwd=True)
    if not found:
        return None
    load_dotenv(found, override=False)
    return Path(found)


class SmoltraceCommand(click.Command):
    """Loads ``.env`` before click reads environment variables; ``greedy`` options take several words."""

    def __init__(self, *args, greedy: tuple[str, ...] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.greedy = frozenset(greedy)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        load_env_file()
        return super().parse_args(ctx, spread_greedy_options(args, self.greedy))


def spread_greedy_options(args: list[str], greedy: frozenset[str] | set[str]) -> list[str]:
    """``["--model-args", "a=1", "b=2", "--quiet"]`` -> ``["--model-args", "a=1", "--model-args", "b=2",
    "--quiet"]``. Stops at the next word that starts with ``-`` (and at ``--``)."""
    out: list[str] = []
    current, waiting = None, False  # the greedy flag being read; whether it still needs its first word
    for index, word in enumerate(args):
        if word == "--":
            return out + args[index:]
        if word.startswith("-"):
            name, attached, _ = word.partition("=")  # --model-args=a=1 b=2
            current = name if name in greedy else None
            waiting = current is not None and not attached
            out.append(word)
        elif current is not None and not waiting:
            out += [current, word]
        else:
            out.append(word)
            waiting = False
    return out


def ask_typed(prompt: str) -> str:
    """What the user typed at ``prompt`` (for "Type 'DELETE' to confirm"); end of input or Ctrl-C is ""."""
    try:
        return click.prompt(prompt, default="", show_default=False, prompt_suffix="").strip()
    except (EOFError, KeyboardInterrupt, click.Abort):
        return ""


def parse_model_args(values: tuple[str, ...] | list[str]) -> dict:
    """``KEY=VALUE`` pairs typed as SMOLTRACE types them (JSON, then int, float, true/false, else text),
    or a JSON object. ``temperature=0.7 max_tokens=2048 stop=["END"] stream=true model=gpt-4``."""
    parsed: dict = {}
    for value in values:
        text = value.strip()
        if text.startswith("{"):
            try:
                document = json.loads(text)
            except ValueError as exc:
                raise click.BadParameter(f"not a JSON object: {exc}", param_hint="--model-args") from None
            parsed.update(document)
            continue
        key, sep, raw = text.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"expected KEY=VALUE or a JSON object, got {value!r}", param_hint="--model-args")
        parsed[key.strip()] = model_arg_value(raw.strip())
    return parsed


def model_arg_value(raw: str):
    """SMOLTRACE's order: JSON (numbers, lists, objects, null), int, float, true/false (any case), text."""
    try:
        return json.loads(raw)
    except ValueError:
        pass
    try:
        return float(raw) if "." in raw else int(raw)
    except ValueError:
        pass
    if raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    return raw
