-- steps: one row per agent step (OpenInference CHAIN spans named "Step N"), with its LLM calls, tokens
-- (outermost LLM calls only) and the tools it called. Derived from the raw spans in facts/derive.sql.
CREATE OR REPLACE VIEW steps AS
SELECT run_id, task_uid, agent_type, trace_id, span_id, step_number, start_time, duration_ms, status_code,
       status_message, llm_calls, total_tokens, tools_called
FROM smoltrace_steps;
