"""The deterministic tools: exact outputs, the calculator's refusals, and the default suite's
self-consistency (its expected keywords really come out of the tools)."""

from __future__ import annotations

import datetime
import time

import pytest
from smolagents import Tool

from smoltrace.runner.tasks import load_tasks
from smoltrace.runner.tools import (
    REFERENCE_DATE,
    TIMEZONE_OFFSETS,
    WEATHER_TABLE,
    CalculatorTool,
    TimeConversionTool,
    WeatherTool,
    default_tools,
    safe_calculate,
)

# ------------------------------------------------------------------------------------------------
# Tool classes
# ------------------------------------------------------------------------------------------------


def test_default_tools_are_fresh_smolagents_tools():
    first, second = default_tools(), default_tools()
    assert [tool.name for tool in first] == ["get_weather", "calculator", "convert_time"]
    assert all(isinstance(tool, Tool) for tool in first)
    assert all(a is not b for a, b in zip(first, second))
    for tool in first:
        assert tool.output_type == "string"
        assert tool.description
        for spec in tool.inputs.values():
            assert spec["type"] == "string" and spec["description"]


def test_tools_are_callable_the_smolagents_way():
    # Tool.__call__ is what the agents use (keyword arguments, or a dict for ToolCallingAgent).
    assert WeatherTool()(location="Tokyo") == "Tokyo, Japan: 18°C, Clear"
    assert CalculatorTool()({"expression": "234 * 67"}) == "Result: 15678"
    assert TimeConversionTool()(time="09:00", from_timezone="Tokyo", to_timezone="UTC") == (
        "09:00 in Asia/Tokyo is 00:00 in UTC"
    )


# ------------------------------------------------------------------------------------------------
# get_weather
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        ("Tokyo", "Tokyo, Japan: 18°C, Clear"),
        ("tokyo", "Tokyo, Japan: 18°C, Clear"),
        ("Tokyo, Japan", "Tokyo, Japan: 18°C, Clear"),
        ("  PARIS ", "Paris, France: 20°C, Partly Cloudy"),
        ("Paris, France", "Paris, France: 20°C, Partly Cloudy"),
        ("London, UK", "London, UK: 15°C, Rainy"),
        ("New York", "New York, USA: 25°C, Sunny"),
        ("NYC", "New York, USA: 25°C, Sunny"),
        ("new   york city", "New York, USA: 25°C, Sunny"),
        ("Sydney", "Sydney, Australia: 22°C, Windy"),
        ("Berlin", "Berlin, Germany: 12°C, Overcast"),
        ("Mumbai", "Mumbai, India: 31°C, Humid"),
        ("Toronto, Ontario", "Toronto, Canada: 8°C, Snowy"),
    ],
)
def test_weather_lookup(location, expected):
    assert WeatherTool().forward(location) == expected


def test_weather_table_is_smoltrace_compatible():
    assert len(WEATHER_TABLE) == 8
    assert WEATHER_TABLE["Tokyo, Japan"] == "18°C, Clear"


def test_weather_unknown_city_is_a_message():
    assert WeatherTool().forward("Atlantis") == (
        "No weather data for 'Atlantis'. Known cities: Paris, London, New York, Tokyo, Sydney, Berlin, Mumbai, Toronto."
    )


# ------------------------------------------------------------------------------------------------
# calculator
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("234 * 67", "Result: 15678"),
        ("(1234 + 5678) * 3 - 999", "Result: 19737"),
        ("-3 + +4", "Result: 1"),
        ("10 / 4", "Result: 2.5"),
        ("10 / 2", "Result: 5"),
        ("7 // 2", "Result: 3"),
        ("7 % 3", "Result: 1"),
        ("2 ** 10", "Result: 1024"),
        ("2 ^ 10", "Result: 1024"),
        ("2 ** -1", "Result: 0.5"),
        ("0.1 + 0.2", "Result: 0.3"),
        ("sqrt(1764) + 10**3", "Result: 1042"),
        ("abs(-3.5)", "Result: 3.5"),
        ("round(2.567, 2)", "Result: 2.57"),
        ("round(2.6)", "Result: 3"),
        ("min(4, 2, 8)", "Result: 2"),
        ("max(4, 2, 8)", "Result: 8"),
        ("22 * 9 / 5 + 32", "Result: 71.6"),
        ("pi", "Result: 3.14159265359"),
        ("1e3", "Result: 1000"),
    ],
)
def test_calculator_results(expression, expected):
    assert safe_calculate(expression) == expected


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("__import__('os')", "Error: function '__import__' is not allowed (allowed: sqrt, abs, round, min, max)"),
        (
            "__import__('os').system('true')",
            "Error: function '__import__('os').system' is not allowed (allowed: sqrt, abs, round, min, max)",
        ),
        ("2**10**10", "Error: exponent 10000000000 is too large (limit 10000)"),
        ("9**9**9", "Error: exponent 387420489 is too large (limit 10000)"),
        ("2**4096", "Error: result is too large"),
        ("10**5000 * 10**5000", "Error: result is too large"),
        ("1.5 ** 5000", "Error: result is too large"),
        ("1e308 * 10", "Error: result is too large"),
        ("x + 1", "Error: name 'x' is not allowed"),
        ("os", "Error: name 'os' is not allowed"),
        ("(1).real", "Error: attribute access is not allowed"),
        ("math.pi", "Error: attribute access is not allowed"),
        ("eval('1')", "Error: function 'eval' is not allowed (allowed: sqrt, abs, round, min, max)"),
        ("round(2.5, ndigits=1)", "Error: round() takes no keyword arguments"),
        ("min()", "Error: wrong number of arguments for min()"),
        ("1 / 0", "Error: division by zero"),
        ("1 // 0", "Error: division by zero"),
        ("5 % 0", "Error: division by zero"),
        ("0 ** -1", "Error: division by zero"),
        ("sqrt(-1)", "Error: square root of a negative number"),
        ("(-8) ** 0.5", "Error: result is not a real number"),
        ("'a' * 3", "Error: only numbers are allowed (got 'a')"),
        ("True + 1", "Error: only numbers are allowed (got True)"),
        ("1j", "Error: only numbers are allowed (got 1j)"),
        ("[1, 2]", "Error: 'List' expressions are not allowed"),
        ("1 if 1 else 2", "Error: 'IfExp' expressions are not allowed"),
        ("lambda: 1", "Error: 'Lambda' expressions are not allowed"),
        ("1 < 2", "Error: 'Compare' expressions are not allowed"),
        ("2 << 3", "Error: operator '<<' is not allowed"),
        ("1 +", "Error: invalid expression '1 +'"),
        ("import os", "Error: invalid expression 'import os'"),
        ("", "Error: empty expression"),
        ("1+" * 300 + "1", "Error: expression is too long (limit 500 characters)"),
    ],
)
def test_calculator_refusals(expression, expected):
    assert safe_calculate(expression) == expected


def test_calculator_refusals_are_fast():
    start = time.perf_counter()
    for expression in ("2**10**10", "9**9**9**9", "10**9999 * 10**9999", "(2**4000)**4000"):
        assert safe_calculate(expression).startswith("Error:")
    assert time.perf_counter() - start < 1.0


# ------------------------------------------------------------------------------------------------
# convert_time
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("09:00", "Tokyo", "UTC"), "09:00 in Asia/Tokyo is 00:00 in UTC"),
        (("18:30", "New York", "Tokyo"), "18:30 in America/New_York is 08:30 in Asia/Tokyo (next day)"),
        (("00:30", "UTC", "America/Los_Angeles"), "00:30 in UTC is 16:30 in America/Los_Angeles (previous day)"),
        (("17:30", "London", "Los Angeles"), "17:30 in Europe/London is 09:30 in America/Los_Angeles"),
        (("2:30 pm", "EST", "Europe/Paris"), "14:30 in America/New_York is 20:30 in Europe/Paris"),
        (("12am", "utc", "JST"), "00:00 in UTC is 09:00 in Asia/Tokyo"),
        (("9:05", "Asia/Kolkata", "Asia/Kathmandu"), "09:05 in Asia/Kolkata is 09:20 in Asia/Kathmandu"),
        (("10:00", "Sydney, Australia", "paris"), "10:00 in Australia/Sydney is 00:00 in Europe/Paris"),
    ],
)
def test_convert_time(args, expected):
    assert TimeConversionTool().forward(*args) == expected


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("25:00", "UTC", "Tokyo"), "Error: invalid time '25:00'; use 24-hour HH:MM, e.g. '14:30'"),
        (("9", "UTC", "Tokyo"), "Error: invalid time '9'; use 24-hour HH:MM, e.g. '14:30'"),
        (("13pm", "UTC", "Tokyo"), "Error: invalid time '13pm'; use 24-hour HH:MM, e.g. '14:30'"),
        (("noon", "UTC", "Tokyo"), "Error: invalid time 'noon'; use 24-hour HH:MM, e.g. '14:30'"),
    ],
)
def test_convert_time_invalid_time(args, expected):
    assert TimeConversionTool().forward(*args) == expected


def test_convert_time_unknown_zone():
    result = TimeConversionTool().forward("10:00", "Mars/Olympus", "UTC")
    assert result.startswith("Error: unknown timezone 'Mars/Olympus'. Known timezones: UTC, Europe/London,")
    assert TimeConversionTool().forward("10:00", "UTC", "Atlantis").startswith("Error: unknown timezone 'Atlantis'.")


def test_timezone_table_matches_tz_database_on_reference_date():
    zoneinfo = pytest.importorskip("zoneinfo")
    reference = datetime.date.fromisoformat(REFERENCE_DATE)
    for name, offset_minutes in TIMEZONE_OFFSETS.items():
        try:
            zone = zoneinfo.ZoneInfo(name)
        except zoneinfo.ZoneInfoNotFoundError:
            pytest.skip("no timezone database on this machine")
        moment = datetime.datetime.combine(reference, datetime.time(12, 0), tzinfo=zone)
        assert moment.utcoffset() == datetime.timedelta(minutes=offset_minutes), name


# ------------------------------------------------------------------------------------------------
# The default suite is self-consistent
# ------------------------------------------------------------------------------------------------

W, C, T = "get_weather", "calculator", "convert_time"

# The obvious tool calls for each tool-bearing default task.
PLANS: dict[str, list[tuple[str, dict[str, str]]]] = {
    "weather_tokyo": [(W, {"location": "Tokyo"})],
    "weather_london": [(W, {"location": "London"})],
    "calc_multiply": [(C, {"expression": "234 * 67"})],
    "time_tokyo_to_utc": [(T, {"time": "09:00", "from_timezone": "Tokyo", "to_timezone": "UTC"})],
    "weather_compare_warmer": [(W, {"location": "Paris"}), (W, {"location": "London"})],
    "calc_expression": [(C, {"expression": "(1234 + 5678) * 3 - 999"})],
    "calc_sqrt_power": [(C, {"expression": "sqrt(1764) + 10**3"})],
    "time_new_york_to_tokyo": [(T, {"time": "18:30", "from_timezone": "New York", "to_timezone": "Tokyo"})],
    "weather_temperature_difference": [
        (W, {"location": "Mumbai"}),
        (W, {"location": "Tokyo"}),
        (C, {"expression": "31 - 18"}),
    ],
    "code_compare_products": [(C, {"expression": "17 * 23"}), (C, {"expression": "19 * 21"})],
    "weather_warmest_of_four": [
        (W, {"location": "Berlin"}),
        (W, {"location": "Sydney"}),
        (W, {"location": "New York"}),
        (W, {"location": "London"}),
    ],
    "weather_average_three": [
        (W, {"location": "Mumbai"}),
        (W, {"location": "Berlin"}),
        (W, {"location": "Toronto"}),
        (C, {"expression": "(31 + 12 + 8) / 3"}),
    ],
    "weather_fahrenheit": [(W, {"location": "Sydney"}), (C, {"expression": "22 * 9 / 5 + 32"})],
    "time_call_end_los_angeles": [(T, {"time": "17:30", "from_timezone": "London", "to_timezone": "Los Angeles"})],
}


def test_every_tool_task_has_a_plan_and_every_plan_a_task():
    suite = load_tasks()
    tool_tasks = {task.id for task in suite if task.expected_tool}
    assert tool_tasks == set(PLANS)


@pytest.mark.parametrize("task_id", sorted(PLANS))
def test_default_task_keywords_come_out_of_the_tools(task_id):
    task = next(task for task in load_tasks() if task.id == task_id)
    tools = {tool.name: tool for tool in default_tools()}
    assert task.expected_tool in tools
    outputs = [tools[name](**kwargs) for name, kwargs in PLANS[task_id]]
    for output in outputs:
        assert not output.startswith(("Error", "No weather data")), output
    calls = [name for name, _ in PLANS[task_id]].count(task.expected_tool)
    assert calls >= (task.expected_tool_calls or 1)
    assert task.expected_keywords
    text = "\n".join(outputs)
    for keyword in task.expected_keywords:
        assert keyword in text, (keyword, outputs)


def test_default_tasks_keywords_are_in_their_answers():
    for task in load_tasks():
        assert task.answer, task.id
        assert task.expected_keywords, task.id
        for keyword in task.expected_keywords:
            assert keyword.lower() in task.answer.lower(), (task.id, keyword)
