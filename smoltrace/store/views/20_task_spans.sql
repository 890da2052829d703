-- task_spans: one row per task execution (the smoltrace.task root span), its attributes as columns.
CREATE OR REPLACE VIEW task_spans AS
SELECT run_id, trace_id, span_id, model, provider, agent_type, task_id, task_uid, repeat_index, difficulty,
       category, prompt, expected_tool, expected_tool_calls, expected_keywords, expected_answer, response,
       stop_reason, error, input_cost_per_token, output_cost_per_token, start_time, execution_time_ms
FROM smoltrace_task_facts;
