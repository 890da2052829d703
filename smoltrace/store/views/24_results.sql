-- results: one row per task execution: the task's facts (smoltrace_task_facts, derived from the raw
-- spans by facts/derive.sql) and SMOLTRACE's verdicts, which are rules over those facts and stay here,
-- in a view, so that a changed rule re-scores every stored run at once. Fixed against SMOLTRACE:
--   execution_time_ms is the task root span's duration (not a sum over the spans below it);
--   tokens and cost are summed over outermost LLM calls only.
-- A task's share of the GPU energy is in task_gpu_energy (same trace_id), kept out of this view so
-- that results never reads the metric tables.
-- Verdicts (SMOLTRACE's rules):
--   tool_called         a tool other than final_answer was called
--   correct_tool        no expected tool, or the expected tool was called (at least expected_tool_calls
--                       times when that is set)
--   final_answer_called the agent ended with a final answer (stop_reason = 'final_answer')
--   response_correct    every expected keyword appears in the answer (case-insensitive)
--   success             tool agents: final answer, correct response, and the expected tool called;
--                       code agents: final answer and correct response (they need not call the exact tool)
CREATE OR REPLACE VIEW results AS
WITH verdicts AS (
    SELECT
        *,
        len(tools_used) > 0 AS tool_called,
        expected_tool IS NULL
            OR (expected_tool_runs > 0 AND expected_tool_runs >= coalesce(expected_tool_calls, 1)) AS correct_tool,
        stop_reason = 'final_answer' AS final_answer_called,
        keywords_found = len(expected_keywords) AS response_correct
    FROM smoltrace_task_facts
)
SELECT
    run_id, model, provider, agent_type, task_id, task_uid, difficulty, category, prompt,
    expected_tool, expected_tool_calls, expected_keywords, tools_used, tool_called, correct_tool,
    final_answer_called, response_correct,
    CASE agent_type
        WHEN 'code' THEN final_answer_called AND response_correct
        ELSE final_answer_called AND response_correct AND correct_tool
    END AS success,
    steps, llm_calls, response, expected_answer, error, stop_reason, trace_id,
    execution_time_ms, prompt_tokens, completion_tokens, total_tokens, cost_usd, start_time
FROM verdicts;
