-- results: one row per task execution: the task's facts (smoltrace_task_facts, derived from the raw
-- spans by facts/derive.sql) and SMOLTRACE's verdicts, which are rules over those facts and stay here,
-- in a view, so that a changed rule re-scores every stored run at once. Each rule reads counts the
-- facts already hold, so a verdict costs a few comparisons per row.
--
-- Verdicts: SMOLTRACE 0.1.1's rules (core.evaluate_single_test), except where it computes them wrongly:
--   tool_called         a tool other than final_answer ran; for a CodeAgent, running code counts (smolagents
--                       records each code step as a python_interpreter call). SMOLTRACE also counted tool
--                       names that merely appear in the code text: here only tools that ran count.
--   correct_tool        expected_tool 'multiple': at least expected_tool_calls (unset or 0: 1) tool calls of
--                       any tool, code runs included; a named tool: it ran at least that many times (for
--                       'python_interpreter', a CodeAgent's code runs count); no expected tool: tool_called.
--   final_answer_called the agent called final_answer. SMOLTRACE also counted the answer smolagents forces
--                       after max_steps (that stays visible as stop_reason = 'max_steps').
--   response_correct    any expected keyword appears in the response, case-insensitive; no keywords: true.
--   success             tool agents: tool_called, correct_tool, final_answer_called and response_correct;
--                       code agents: tool_called, final_answer_called and response_correct.
--   steps               action and planning steps, each once (SMOLTRACE also counted the final answer
--                       event, and the last step twice at max_steps).
-- Stricter checks, under their own names:
--   all_keywords_present every expected keyword appears in the response, case-insensitive.
--   answer_matches       the response is the task's expected answer (case and surrounding blanks ignored);
--                        NULL when the task has none.
-- Fixed against SMOLTRACE as well: execution_time_ms is the task root span's duration (not a sum over
-- the spans below it); tokens and cost are summed over outermost LLM calls only.
-- A task's share of the GPU energy is in task_gpu_energy (same trace_id), kept out of this view so
-- that results never reads the metric tables. Columns are only ever added (other views read these).
--
-- One row per execution, not per trace: a task execution is (run_id, agent_type, task_id, repeat_index),
-- and `smoltrace-eval --resume` runs again, under the same run id, the executions that were interrupted
-- or failed with a transient error (smoltrace/runner/resume.py). The newest trace of an execution
-- supersedes the older ones (start_time, then trace_id, decides). The window is partitioned by run_id
-- first, so a `WHERE run_id = ?` on results is pushed below it into the facts scan (checked with
-- EXPLAIN in tests/eval/test_resume.py): reading one run still reads that run's rows only.
CREATE OR REPLACE VIEW results AS
WITH latest AS (
    SELECT *
    FROM smoltrace_task_facts
    -- a trace without a run id or a task id (not the runner's) is an execution of its own
    QUALIFY row_number() OVER (
        PARTITION BY run_id, agent_type, task_id, repeat_index,
                     CASE WHEN run_id IS NULL OR task_id IS NULL THEN trace_id END
        ORDER BY start_time DESC, trace_id DESC
    ) = 1
),
counted AS (
    SELECT
        *,
        len(tools_used) + coalesce(code_runs, 0) AS tool_runs,
        coalesce(nullif(expected_tool_calls, 0), 1) AS required_calls,
        coalesce(expected_tool_runs, 0)
            + CASE WHEN expected_tool = 'python_interpreter' THEN coalesce(code_runs, 0) ELSE 0 END
            AS expected_runs
    FROM latest
),
verdicts AS (
    SELECT
        *,
        tool_runs > 0 AS tool_called,
        CASE
            WHEN expected_tool = 'multiple' THEN tool_runs >= required_calls
            WHEN expected_tool IS NOT NULL THEN expected_runs >= required_calls
            ELSE tool_runs > 0
        END AS correct_tool,
        final_answer_calls > 0 AS final_answer_called,
        len(expected_keywords) = 0 OR keywords_found > 0 AS response_correct
    FROM counted
)
SELECT
    run_id, model, provider, agent_type, task_id, task_uid, difficulty, category, prompt,
    expected_tool, expected_tool_calls, expected_keywords, tools_used, tool_called, correct_tool,
    final_answer_called, response_correct,
    CASE agent_type
        WHEN 'code' THEN tool_called AND final_answer_called AND response_correct
        ELSE tool_called AND correct_tool AND final_answer_called AND response_correct
    END AS success,
    steps + coalesce(planning_steps, 0) AS steps,
    llm_calls, response, expected_answer, error, stop_reason, trace_id,
    execution_time_ms, prompt_tokens, completion_tokens, total_tokens, cost_usd, start_time,
    start_time AS evaluation_date,
    steps AS action_steps,
    coalesce(planning_steps, 0) AS planning_steps,
    coalesce(code_runs, 0) AS code_runs,
    tool_calls,
    final_answer_calls,
    keywords_found,
    keywords_found = len(expected_keywords) AS all_keywords_present,
    CASE WHEN expected_answer IS NOT NULL
         THEN lower(trim(coalesce(response, ''))) = lower(trim(expected_answer))
    END AS answer_matches,
    repeat_index
FROM verdicts;
