-- llm_calls: one row per outermost LLM call (an LLM span inside another is not counted again). Its
-- tokens come from its own span (OpenInference llm.token_count.*, else GenAI gen_ai.usage.*), or, when
-- it carries none, from the largest count among the LLM spans nested in it. Cost = tokens x the prices
-- the task recorded. Derived from the raw spans in facts/derive.sql.
CREATE OR REPLACE VIEW llm_calls AS
SELECT run_id, task_uid, agent_type, trace_id, span_id, step_span_id, span_name, model_name, prompt_tokens,
       completion_tokens, total_tokens, cost_usd, start_time, duration_ms, status_code
FROM smoltrace_llm_calls;
