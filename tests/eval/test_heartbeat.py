"""The runner's heartbeat: while a run goes on, it sends smoltrace.run.heartbeat spans (so that a run
whose runner dies shows as abandoned, see tests/store/test_facts.py); they stop with the run."""

from smoltrace.runner import heartbeat
from smoltrace.runner.scripted import ScriptedModel, call
from tests.eval.conftest import WEATHER_TASK


def test_a_run_sends_heartbeats_while_it_runs(evaluation, monkeypatch):
    monkeypatch.setattr(heartbeat.Heartbeat.__init__, "__defaults__", (0.2,))  # interval_s: a beat every 0.2 s
    script = {"weather in Tokyo": [call("get_weather", location="Tokyo"), call("final_answer", answer="18°C, Clear")]}
    evaluation.run([WEATHER_TASK], ScriptedModel(script, delay_s=0.5))
    run_id = evaluation.query("SELECT run_id FROM runs")[0]["run_id"]
    beats = evaluation.query(
        "SELECT start_time FROM smoltrace_run_spans WHERE run_id = ? AND span_name = 'smoltrace.run.heartbeat' "
        "ORDER BY start_time",
        [run_id],
    )
    finished = evaluation.query("SELECT finished_at, status FROM runs")[0]
    assert len(beats) >= 3  # two model calls of 0.5 s, a beat every 0.2 s
    assert finished["status"] == "completed"
    assert beats[-1]["start_time"] <= finished["finished_at"]
