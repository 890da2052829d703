"""Named queries over the views, shared by the runner's outputs, the publisher and the tests."""

RUN = "SELECT * FROM runs WHERE run_id = ?"
RESULTS_FOR_RUN = "SELECT * FROM results WHERE run_id = ? ORDER BY agent_type, task_id"
LEADERBOARD_FOR_RUN = "SELECT * FROM leaderboard WHERE run_id = ? ORDER BY agent_type"
#: The spans of a run's traces, one trace per task execution (results: a resumed execution's newest).
TRACE_SPANS_FOR_RUN = """
SELECT s.TraceId AS trace_id, s.SpanId AS span_id, s.ParentSpanId AS parent_span_id, s.SpanName AS name,
       s.SpanKind AS kind, s.Timestamp AS start_time, s.Duration AS duration_ns, s.StatusCode AS status_code,
       s.StatusMessage AS status_message, s.SpanAttributes AS attributes, s.Events AS events
FROM otel_traces AS s
WHERE s.TraceId IN (SELECT trace_id FROM results WHERE run_id = ?)
QUALIFY row_number() OVER (PARTITION BY s.TraceId, s.SpanId) = 1
ORDER BY s.TraceId, s.Timestamp
"""
GPU_METRICS_FOR_RUN = "SELECT * FROM gpu_metrics WHERE run_id = ? ORDER BY gpu_index, timestamp"
GPU_SUMMARY_FOR_RUN = "SELECT * FROM gpu_run_summary WHERE run_id = ?"
TASK_ENERGY_FOR_RUN = "SELECT * FROM task_gpu_energy WHERE run_id = ? ORDER BY agent_type, task_id"
