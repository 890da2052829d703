"""Deterministic tools the benchmark agents call.

Every tool answers from fixed data (a weather table, a safe arithmetic evaluator, a fixed table of
UTC offsets), so that a task's expected keywords are true on every machine, on every day, offline.
A benchmark whose tools depend on the network or the clock measures the world, not the agent.

Tools never raise on bad input: they return a message starting with ``"Error:"`` (or a "no data"
message), because an agent should see the problem as an observation and be able to recover from it.
"""

from __future__ import annotations

import ast
import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass

from smolagents import Tool

__all__ = [
    "WEATHER_TABLE",
    "REFERENCE_DATE",
    "TIMEZONE_OFFSETS",
    "WeatherTool",
    "CalculatorTool",
    "TimeConversionTool",
    "lookup_weather",
    "safe_calculate",
    "convert_time",
    "default_tools",
]

# --------------------------------------------------------------------------------------------------
# get_weather
# --------------------------------------------------------------------------------------------------

#: Canonical place name -> reading. The first five match SMOLTRACE's own weather tool, so task
#: datasets written for SMOLTRACE (e.g. Tokyo -> "18°C, Clear") keep their expected keywords.
WEATHER_TABLE: dict[str, str] = {
    "Paris, France": "20°C, Partly Cloudy",
    "London, UK": "15°C, Rainy",
    "New York, USA": "25°C, Sunny",
    "Tokyo, Japan": "18°C, Clear",
    "Sydney, Australia": "22°C, Windy",
    "Berlin, Germany": "12°C, Overcast",
    "Mumbai, India": "31°C, Humid",
    "Toronto, Canada": "8°C, Snowy",
}

# Extra spellings a model is likely to use, lower-cased.
_WEATHER_ALIASES: dict[str, str] = {
    "nyc": "New York, USA",
    "new york city": "New York, USA",
    "bombay": "Mumbai, India",
}


def _find_city(location: str) -> str | None:
    """Map a free-form location ("tokyo", "Tokyo, Japan", " PARIS ") to a key of WEATHER_TABLE."""
    wanted = " ".join(location.strip().lower().split())
    by_full = {key.lower(): key for key in WEATHER_TABLE}
    by_city = {key.split(",")[0].lower(): key for key in WEATHER_TABLE}
    if wanted in by_full:
        return by_full[wanted]
    if wanted in _WEATHER_ALIASES:
        return _WEATHER_ALIASES[wanted]
    city = wanted.split(",")[0].strip()
    if city in by_city:
        return by_city[city]
    return _WEATHER_ALIASES.get(city)


def lookup_weather(location: str) -> str:
    """Return ``"<City, Country>: <reading>"`` or a "no data" message for an unknown place."""
    key = _find_city(location) if isinstance(location, str) else None
    if key is None:
        known = ", ".join(key.split(",")[0] for key in WEATHER_TABLE)
        return f"No weather data for '{location}'. Known cities: {known}."
    return f"{key}: {WEATHER_TABLE[key]}"


class WeatherTool(Tool):
    """Weather from a fixed table: the same answer every time, so answers can be checked."""

    name = "get_weather"
    description = (
        "Gets the current weather for a city. Returns the temperature in °C and the conditions, "
        "e.g. 'Tokyo, Japan: 18°C, Clear'."
    )
    inputs = {
        "location": {
            "type": "string",
            "description": "The city, optionally with its country, e.g. 'Tokyo' or 'Paris, France'.",
        }
    }
    output_type = "string"

    def forward(self, location: str) -> str:
        return lookup_weather(location)


# --------------------------------------------------------------------------------------------------
# calculator
# --------------------------------------------------------------------------------------------------

MAX_EXPRESSION_LENGTH = 500
"""Longer input is refused before parsing (deeply nested input can exhaust the parser)."""

MAX_INTEGER_BITS = 4096
"""Integers beyond ~1,233 decimal digits are refused; keeps every operation fast."""

MAX_EXPONENT = 10_000
"""Refuse ``a ** b`` with ``|b|`` above this, whatever ``a`` is."""


class CalculatorError(ValueError):
    """An expression the calculator refuses or cannot evaluate; its text is shown to the agent."""


_BINARY_OPERATORS: dict[type, Callable[[object, object], object]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
}

_BINARY_SYMBOLS: dict[type, str] = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.Pow: "**",
    ast.MatMult: "@",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.BitAnd: "&",
    ast.BitOr: "|",
    ast.BitXor: "^",
}


def _round(value: float, ndigits: int | None = None) -> float:
    if ndigits is None:
        return round(value)
    if not isinstance(ndigits, int):
        raise CalculatorError("round() needs a whole number of digits")
    return round(value, ndigits)


def _sqrt(value: float) -> float:
    if value < 0:
        raise CalculatorError("square root of a negative number")
    return math.sqrt(value)


_FUNCTIONS: dict[str, tuple[Callable[..., object], int, int | None]] = {
    # name: (function, min args, max args or None for unbounded)
    "sqrt": (_sqrt, 1, 1),
    "abs": (abs, 1, 1),
    "round": (_round, 1, 2),
    "min": (min, 1, None),
    "max": (max, 1, None),
}

_CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e}


def _check_size(value: object) -> object:
    if isinstance(value, int) and value.bit_length() > MAX_INTEGER_BITS:
        raise CalculatorError("result is too large")
    if isinstance(value, float) and not math.isfinite(value):
        raise CalculatorError("result is too large")
    return value


def _power(base: object, exponent: object) -> object:
    if abs(exponent) > MAX_EXPONENT:  # type: ignore[arg-type]
        raise CalculatorError(f"exponent {exponent} is too large (limit {MAX_EXPONENT})")
    if isinstance(base, int) and isinstance(exponent, int) and exponent > 0:
        # Estimate the result's size before computing it: 2 ** 10_000_000 would take a while.
        if abs(base) > 1 and (abs(base).bit_length() - 1) * exponent > MAX_INTEGER_BITS:
            raise CalculatorError("result is too large")
    if base == 0 and exponent < 0:  # type: ignore[operator]
        raise CalculatorError("division by zero")
    result = base**exponent  # type: ignore[operator]
    if isinstance(result, complex):
        raise CalculatorError("result is not a real number")
    return result


def _evaluate(node: ast.AST) -> object:
    """Evaluate one node of a whitelisted arithmetic tree; anything else is refused."""
    if isinstance(node, ast.Expression):
        return _evaluate(node.body)
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            raise CalculatorError(f"only numbers are allowed (got {node.value!r})")
        return _check_size(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        operand = _evaluate(node.operand)
        return -operand if isinstance(node.op, ast.USub) else +operand  # type: ignore[operator]
    if isinstance(node, ast.BinOp):
        op_type = type(node.op)
        if op_type not in _BINARY_OPERATORS and op_type is not ast.Pow:
            raise CalculatorError(f"operator '{_BINARY_SYMBOLS.get(op_type, '?')}' is not allowed")
        left = _evaluate(node.left)
        right = _evaluate(node.right)
        if op_type is ast.Pow:
            return _check_size(_power(left, right))
        try:
            return _check_size(_BINARY_OPERATORS[op_type](left, right))
        except ZeroDivisionError:
            raise CalculatorError("division by zero") from None
    if isinstance(node, ast.Name):
        if node.id in _CONSTANTS:
            return _CONSTANTS[node.id]
        raise CalculatorError(f"name '{node.id}' is not allowed")
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in _FUNCTIONS:
            shown = node.func.id if isinstance(node.func, ast.Name) else ast.unparse(node.func)
            allowed = ", ".join(_FUNCTIONS)
            raise CalculatorError(f"function '{shown}' is not allowed (allowed: {allowed})")
        if node.keywords:
            raise CalculatorError(f"{node.func.id}() takes no keyword arguments")
        function, least, most = _FUNCTIONS[node.func.id]
        count = len(node.args)
        if count < least or (most is not None and count > most):
            raise CalculatorError(f"wrong number of arguments for {node.func.id}()")
        args = [_evaluate(arg) for arg in node.args]
        return _check_size(function(*args))
    if isinstance(node, ast.Attribute):
        raise CalculatorError("attribute access is not allowed")
    raise CalculatorError(f"'{type(node).__name__}' expressions are not allowed")


def format_number(value: object) -> str:
    """Show a number as a person would: ``5`` not ``5.0``, ``0.3`` not ``0.30000000000000004``."""
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return f"{value:.12g}"
    return str(value)


def safe_calculate(expression: str) -> str:
    """Evaluate arithmetic without ``eval``: parse with ``ast`` and walk a whitelist of node types.

    Returns ``"Result: <number>"`` or ``"Error: <reason>"``; never raises on bad input.
    """
    if not isinstance(expression, str) or not expression.strip():
        return "Error: empty expression"
    if len(expression) > MAX_EXPRESSION_LENGTH:
        return f"Error: expression is too long (limit {MAX_EXPRESSION_LENGTH} characters)"
    text = expression.strip().replace("^", "**").replace("×", "*").replace("÷", "/")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError:
        return f"Error: invalid expression '{expression}'"
    try:
        value = _evaluate(tree)
    except CalculatorError as exc:
        return f"Error: {exc}"
    except (OverflowError, RecursionError):
        return "Error: result is too large"
    except (TypeError, ValueError) as exc:
        return f"Error: {exc}"
    return f"Result: {format_number(value)}"


class CalculatorTool(Tool):
    """Arithmetic on a safe parser (``ast`` whitelist, size caps), never ``eval``."""

    name = "calculator"
    description = (
        "Evaluates an arithmetic expression and returns 'Result: <number>'. Supports numbers, "
        "+ - * / // % ** (or ^), parentheses, sqrt(), abs(), round(), min(), max(), pi and e."
    )
    inputs = {
        "expression": {
            "type": "string",
            "description": "The arithmetic expression, e.g. '(12 + 30) * 2' or 'sqrt(1764)'.",
        }
    }
    output_type = "string"

    def forward(self, expression: str) -> str:
        return safe_calculate(expression)


# --------------------------------------------------------------------------------------------------
# convert_time
# --------------------------------------------------------------------------------------------------

REFERENCE_DATE = "2025-01-15"
"""Offsets below are those in force on this date (northern winter: no DST in Europe/America,
DST in Sydney). Fixing the date keeps answers independent of today's date and of the host's
timezone database; tests check the table against ``zoneinfo`` where one is installed."""


@dataclass(frozen=True)
class _Zone:
    name: str
    offset_minutes: int


#: IANA zone name -> UTC offset in minutes on REFERENCE_DATE.
TIMEZONE_OFFSETS: dict[str, int] = {
    "UTC": 0,
    "Europe/London": 0,
    "Europe/Paris": 60,
    "Europe/Berlin": 60,
    "Europe/Moscow": 180,
    "Asia/Dubai": 240,
    "Asia/Kolkata": 330,
    "Asia/Kathmandu": 345,
    "Asia/Shanghai": 480,
    "Asia/Singapore": 480,
    "Asia/Tokyo": 540,
    "Australia/Sydney": 660,
    "America/Sao_Paulo": -180,
    "America/New_York": -300,
    "America/Toronto": -300,
    "America/Chicago": -360,
    "America/Denver": -420,
    "America/Los_Angeles": -480,
}

# Lower-cased city names and common abbreviations -> IANA name (abbreviations are fixed offsets,
# which agree with these zones on REFERENCE_DATE).
_TIMEZONE_ALIASES: dict[str, str] = {
    "gmt": "UTC",
    "z": "UTC",
    "london": "Europe/London",
    "paris": "Europe/Paris",
    "berlin": "Europe/Berlin",
    "cet": "Europe/Paris",
    "moscow": "Europe/Moscow",
    "dubai": "Asia/Dubai",
    "mumbai": "Asia/Kolkata",
    "kolkata": "Asia/Kolkata",
    "ist": "Asia/Kolkata",
    "kathmandu": "Asia/Kathmandu",
    "beijing": "Asia/Shanghai",
    "shanghai": "Asia/Shanghai",
    "singapore": "Asia/Singapore",
    "tokyo": "Asia/Tokyo",
    "jst": "Asia/Tokyo",
    "sydney": "Australia/Sydney",
    "aedt": "Australia/Sydney",
    "sao paulo": "America/Sao_Paulo",
    "new york": "America/New_York",
    "nyc": "America/New_York",
    "est": "America/New_York",
    "toronto": "America/Toronto",
    "chicago": "America/Chicago",
    "cst": "America/Chicago",
    "denver": "America/Denver",
    "mst": "America/Denver",
    "los angeles": "America/Los_Angeles",
    "san francisco": "America/Los_Angeles",
    "pst": "America/Los_Angeles",
}

_TIME_PATTERN = re.compile(r"^(\d{1,2})(?::(\d{2}))?\s*([ap]\.?m\.?)?$", re.IGNORECASE)


def _find_zone(text: str) -> _Zone | None:
    wanted = " ".join(text.strip().split())
    by_lower = {name.lower(): name for name in TIMEZONE_OFFSETS}
    name = by_lower.get(wanted.lower()) or _TIMEZONE_ALIASES.get(wanted.lower())
    if name is None:
        # "Tokyo, Japan" -> "tokyo"
        name = _TIMEZONE_ALIASES.get(wanted.split(",")[0].strip().lower())
    return None if name is None else _Zone(name, TIMEZONE_OFFSETS[name])


def _parse_time(text: str) -> int | None:
    """``"HH:MM"`` (24 h), or ``"9am"`` / ``"2:30 PM"`` -> minutes after midnight; None if invalid."""
    match = _TIME_PATTERN.match(text.strip())
    if match is None:
        return None
    hours, minutes = int(match.group(1)), int(match.group(2) or 0)
    suffix = (match.group(3) or "").replace(".", "").lower()
    if suffix:
        if not 1 <= hours <= 12:
            return None
        hours = hours % 12 + (12 if suffix == "pm" else 0)
    elif match.group(2) is None:
        return None  # a bare "9" is ambiguous
    if hours > 23 or minutes > 59:
        return None
    return hours * 60 + minutes


def convert_time(time: str, from_timezone: str, to_timezone: str) -> str:
    """Convert a clock time between zones using the offsets in force on REFERENCE_DATE."""
    minutes = _parse_time(time) if isinstance(time, str) else None
    if minutes is None:
        return f"Error: invalid time '{time}'; use 24-hour HH:MM, e.g. '14:30'"
    source = _find_zone(from_timezone) if isinstance(from_timezone, str) else None
    target = _find_zone(to_timezone) if isinstance(to_timezone, str) else None
    for given, zone in ((from_timezone, source), (to_timezone, target)):
        if zone is None:
            known = ", ".join(TIMEZONE_OFFSETS)
            return f"Error: unknown timezone '{given}'. Known timezones: {known}."
    assert source is not None and target is not None
    shifted = minutes - source.offset_minutes + target.offset_minutes
    day_shift, clock = divmod(shifted, 24 * 60)
    note = {-1: " (previous day)", 0: "", 1: " (next day)"}[day_shift]
    start = f"{minutes // 60:02d}:{minutes % 60:02d}"
    end = f"{clock // 60:02d}:{clock % 60:02d}"
    return f"{start} in {source.name} is {end} in {target.name}{note}"


class TimeConversionTool(Tool):
    """Time-zone conversion on a fixed reference date, so the answer never depends on today."""

    name = "convert_time"
    description = (
        "Converts a clock time from one timezone to another and returns e.g. "
        "'09:00 in Asia/Tokyo is 00:00 in UTC'. Accepts IANA names ('Asia/Tokyo'), "
        "major city names ('Tokyo') and common abbreviations ('UTC', 'EST', 'PST', 'CET', 'JST'). "
        f"Uses the UTC offsets in force on {REFERENCE_DATE}."
    )
    inputs = {
        "time": {"type": "string", "description": "The time in 24-hour HH:MM format, e.g. '14:30'."},
        "from_timezone": {
            "type": "string",
            "description": "The timezone of the given time, e.g. 'America/New_York' or 'New York'.",
        },
        "to_timezone": {
            "type": "string",
            "description": "The timezone to convert to, e.g. 'Asia/Tokyo' or 'Tokyo'.",
        },
    }
    output_type = "string"

    def forward(self, time: str, from_timezone: str, to_timezone: str) -> str:
        return convert_time(time, from_timezone, to_timezone)


def default_tools() -> list[Tool]:
    """Fresh instances of the deterministic tools (an agent may keep state on its tools)."""
    return [WeatherTool(), CalculatorTool(), TimeConversionTool()]
