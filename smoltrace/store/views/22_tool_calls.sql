-- tool_calls: one row per tool invocation (OpenInference TOOL spans or GenAI execute_tool spans),
-- final_answer included (is_final_answer tells it apart). Derived from the raw spans in facts/derive.sql.
CREATE OR REPLACE VIEW tool_calls AS
SELECT run_id, task_uid, agent_type, trace_id, span_id, step_span_id, tool_name, arguments, output,
       is_final_answer, start_time, duration_ms, status_code, status_message
FROM smoltrace_tool_calls;
