-- Derive the facts of some traces from their raw spans (the tables of facts/tables.sql).
--
-- Input: the temporary table derive_trace_ids(trace_id) and the parameters $lo and $hi, the least and
-- the greatest of those trace ids (an explicit range lets DuckDB skip every row group outside it by its
-- min/max statistics; a join alone does not). Each trace is derived whole from every span of it stored
-- so far, so the result is the same whatever the order and the batches in which its spans arrived.
-- The same statements rebuild everything (derive_trace_ids = every trace) and derive one commit's
-- traces in the collector's writer: there is one definition of each fact.
--
-- Statements are separated by "-- step:" lines and run in order, in one transaction.

-- step: spans
-- One row per distinct (trace, span): a span stored twice (a retried export with other bytes, a client
-- that sent it twice) counts once; which copy is kept does not depend on the order of arrival.
CREATE OR REPLACE TEMP TABLE derive_spans AS
WITH parsed AS (  -- one JSON parse per span
    SELECT "TraceId" AS trace_id, "SpanId" AS span_id, "ParentSpanId" AS parent_span_id,
           "SpanName" AS span_name, "Timestamp" AS start_time, "Duration" AS duration_ns,
           "StatusCode" AS status_code, "StatusMessage" AS status_message,
           "SpanAttributes" AS span_attributes, hash("SpanAttributes") AS attributes_hash,
           json_extract_string("SpanAttributes", [
               '$."openinference.span.kind"', '$."gen_ai.operation.name"',
               '$."llm.model_name"', '$."gen_ai.request.model"',
               '$."llm.token_count.prompt"', '$."gen_ai.usage.input_tokens"',
               '$."llm.token_count.completion"', '$."gen_ai.usage.output_tokens"',
               '$."tool.name"', '$."gen_ai.tool.name"', '$."output.value"'
           ]) AS f
    FROM otel_traces
    WHERE "TraceId" IN (SELECT trace_id FROM derive_trace_ids) AND "TraceId" BETWEEN $lo AND $hi
),
raw AS MATERIALIZED (  -- only small fields are kept: an LLM span's attributes and output are large
    SELECT trace_id, span_id, parent_span_id, span_name, start_time, duration_ns, status_code, status_message,
           attributes_hash,
           semantic_kind_of(f[1], f[2]) AS semantic_kind,
           coalesce(f[3], f[4]) AS model_name,
           coalesce(TRY_CAST(f[5] AS BIGINT), TRY_CAST(f[6] AS BIGINT)) AS prompt_tokens,
           coalesce(TRY_CAST(f[7] AS BIGINT), TRY_CAST(f[8] AS BIGINT)) AS completion_tokens,
           coalesce(f[9], f[10], span_name) AS tool_name,
           f[11] LIKE 'Execution logs:%' AS output_is_execution_log,
           -- kept whole only for the spans whose other attributes are read below (task and run spans,
           -- tool calls)
           CASE WHEN span_name LIKE 'smoltrace.%' OR semantic_kind_of(f[1], f[2]) = 'TOOL'
                THEN span_attributes END AS attributes
    FROM parsed
),
copies AS (  -- spans stored more than once (rare): only these pay for choosing a copy
    SELECT trace_id, span_id FROM raw GROUP BY ALL HAVING count(*) > 1
),
distinct_spans AS (
    SELECT * FROM raw ANTI JOIN copies USING (trace_id, span_id)
    UNION ALL
    (SELECT * FROM raw SEMI JOIN copies USING (trace_id, span_id)
     QUALIFY row_number() OVER (
         PARTITION BY trace_id, span_id ORDER BY duration_ns DESC, attributes_hash, start_time
     ) = 1)
)
SELECT trace_id, span_id, parent_span_id, span_name, start_time, duration_ns, status_code, status_message,
       semantic_kind, attributes, model_name, prompt_tokens, completion_tokens, tool_name,
       -- An agent step that ran code: a CodeAgent step's observations begin with "Execution logs:", or
       -- its code failed while running (smolagents' AgentExecutionError; a parsing error ran nothing).
       -- smolagents records either as a python_interpreter call. NULL for spans that are not steps.
       CASE WHEN span_name LIKE 'Step %'
            THEN coalesce(output_is_execution_log, false)
                 OR coalesce(status_message LIKE 'AgentExecutionError%', false)
       END AS ran_code
FROM distinct_spans;

-- step: tree
-- Every span's place in its task: the task it belongs to, its outermost LLM ancestor (tokens are
-- counted on outermost LLM calls only, so a litellm `completion` inside `Model.generate` counts once)
-- and its agent step. The walk starts at each task span and at each span whose parent is not stored
-- (a step that never ended because the task timed out): such a span still belongs to the trace's task,
-- so a timed-out task keeps the tokens of the LLM calls that did finish. Spans in a parent cycle are
-- never reached from a top; MAX_DEPTH bounds the walk all the same.
CREATE OR REPLACE TEMP TABLE derive_tree AS
WITH RECURSIVE
task_roots AS (
    SELECT trace_id, min(span_id) AS task_span_id FROM derive_spans
    WHERE span_name = 'smoltrace.task' GROUP BY trace_id
),
tops AS (
    SELECT s.trace_id, s.span_id, s.semantic_kind, s.span_name,
           CASE WHEN s.span_name = 'smoltrace.task' THEN s.span_id ELSE r.task_span_id END AS task_span_id
    FROM derive_spans AS s
    LEFT JOIN task_roots AS r USING (trace_id)
    WHERE s.span_name = 'smoltrace.task'
       OR NOT EXISTS (SELECT 1 FROM derive_spans AS p WHERE p.trace_id = s.trace_id AND p.span_id = s.parent_span_id)
),
tree AS (
    SELECT trace_id, span_id, task_span_id, semantic_kind,
           semantic_kind = 'CHAIN' AND span_name LIKE 'Step %' AS is_step,
           NULL::VARCHAR AS llm_ancestor_id,
           NULL::VARCHAR AS step_span_id,
           0 AS depth
    FROM tops
    UNION ALL
    SELECT c.trace_id, c.span_id, t.task_span_id, c.semantic_kind,
           c.semantic_kind = 'CHAIN' AND c.span_name LIKE 'Step %',
           coalesce(t.llm_ancestor_id, CASE WHEN t.semantic_kind = 'LLM' THEN t.span_id END),
           CASE WHEN t.is_step THEN t.span_id ELSE t.step_span_id END,
           t.depth + 1
    FROM tree AS t
    JOIN derive_spans AS c ON c.trace_id = t.trace_id AND c.parent_span_id = t.span_id
    WHERE c.span_name <> 'smoltrace.task' AND t.depth < 256
)
SELECT * EXCLUDE (depth) FROM tree WHERE task_span_id IS NOT NULL;

-- step: tasks
-- The task span's attributes as columns. A value of the wrong type becomes NULL in its row only.
CREATE OR REPLACE TEMP TABLE derive_tasks AS
WITH task_spans AS (
    SELECT trace_id, span_id, start_time, duration_ns,
           json_extract(attributes, '$."smoltrace.task.expected_keywords"') AS keywords,
           json_extract_string(attributes, [
               '$."smoltrace.run.id"', '$."smoltrace.model.id"', '$."smoltrace.provider"',
               '$."smoltrace.agent.type"', '$."smoltrace.task.id"', '$."smoltrace.task.uid"',
               '$."smoltrace.task.repeat"', '$."smoltrace.task.difficulty"', '$."smoltrace.task.category"',
               '$."smoltrace.task.prompt"', '$."smoltrace.task.expected_tool"',
               '$."smoltrace.task.expected_tool_calls"', '$."smoltrace.task.expected_answer"',
               '$."smoltrace.task.answer"', '$."smoltrace.task.stop_reason"', '$."smoltrace.task.error"',
               '$."smoltrace.model.input_cost_per_token"', '$."smoltrace.model.output_cost_per_token"'
           ]) AS a
    FROM derive_spans
    WHERE span_name = 'smoltrace.task' AND span_id IN (SELECT task_span_id FROM derive_tree)
)
SELECT
    trace_id, span_id,
    a[1] AS run_id, a[2] AS model, a[3] AS provider, a[4] AS agent_type, a[5] AS task_id, a[6] AS task_uid,
    TRY_CAST(a[7] AS INTEGER) AS repeat_index,
    a[8] AS difficulty, a[9] AS category, a[10] AS prompt, a[11] AS expected_tool,
    TRY_CAST(a[12] AS INTEGER) AS expected_tool_calls,
    coalesce(TRY_CAST(keywords AS VARCHAR[]), []) AS expected_keywords,
    a[13] AS expected_answer, a[14] AS response, a[15] AS stop_reason, a[16] AS error,
    TRY_CAST(a[17] AS DOUBLE) AS input_cost_per_token,
    TRY_CAST(a[18] AS DOUBLE) AS output_cost_per_token,
    start_time,
    duration_ns / 1e6 AS execution_time_ms
FROM task_spans;

-- step: llm
-- One row per outermost LLM call. Its tokens come from its own span, or, when it carries none, from
-- the largest count among the LLM spans nested in it. Cost = tokens x the prices the task recorded.
CREATE OR REPLACE TEMP TABLE derive_llm AS
WITH llm AS (
    SELECT t.trace_id, t.span_id, t.task_span_id, t.step_span_id, t.llm_ancestor_id, s.span_name, s.model_name,
           s.prompt_tokens, s.completion_tokens, s.start_time, s.duration_ns, s.status_code
    FROM derive_tree AS t JOIN derive_spans AS s USING (trace_id, span_id)
    WHERE t.semantic_kind = 'LLM'
),
nested AS (
    SELECT trace_id, llm_ancestor_id AS span_id,
           max(prompt_tokens) AS prompt_tokens, max(completion_tokens) AS completion_tokens
    FROM llm WHERE llm_ancestor_id IS NOT NULL
    GROUP BY ALL
),
counted AS (
    SELECT o.*, coalesce(o.prompt_tokens, n.prompt_tokens, 0) AS prompt_n,
           coalesce(o.completion_tokens, n.completion_tokens, 0) AS completion_n
    FROM llm AS o LEFT JOIN nested AS n USING (trace_id, span_id)
    WHERE o.llm_ancestor_id IS NULL
)
SELECT ts.run_id, ts.task_uid, ts.agent_type, c.trace_id, c.span_id, c.step_span_id, c.span_name, c.model_name,
       c.prompt_n AS prompt_tokens, c.completion_n AS completion_tokens, c.prompt_n + c.completion_n AS total_tokens,
       c.prompt_n * ts.input_cost_per_token + c.completion_n * ts.output_cost_per_token AS cost_usd,
       c.start_time, c.duration_ns / 1e6 AS duration_ms, c.status_code
FROM counted AS c JOIN derive_tasks AS ts ON ts.trace_id = c.trace_id AND ts.span_id = c.task_span_id;

-- step: tools
-- One row per tool call (OpenInference TOOL spans or GenAI execute_tool spans), final_answer included.
CREATE OR REPLACE TEMP TABLE derive_tools AS
WITH tools AS (
    SELECT t.trace_id, t.span_id, t.task_span_id, t.step_span_id, s.tool_name, s.start_time, s.duration_ns,
           s.status_code, s.status_message,
           json_extract_string(s.attributes, [
               '$."input.value"', '$."gen_ai.tool.call.arguments"', '$."output.value"', '$."gen_ai.tool.call.result"'
           ]) AS f
    FROM derive_tree AS t
    JOIN derive_spans AS s USING (trace_id, span_id)
    WHERE t.semantic_kind = 'TOOL'
)
SELECT ts.run_id, ts.task_uid, ts.agent_type, t.trace_id, t.span_id, t.step_span_id,
       t.tool_name, coalesce(t.f[1], t.f[2]) AS arguments, coalesce(t.f[3], t.f[4]) AS output,
       t.tool_name = 'final_answer' AS is_final_answer,
       t.start_time, t.duration_ns / 1e6 AS duration_ms, t.status_code, t.status_message
FROM tools AS t
JOIN derive_tasks AS ts ON ts.trace_id = t.trace_id AND ts.span_id = t.task_span_id;

-- step: runs
-- The runs whose row of smoltrace_run_facts these traces change (facts/derive_runs.sql): the runs of
-- their run spans stored so far (read here, before they are forgotten) and of their run spans now.
CREATE OR REPLACE TEMP TABLE derive_runs AS
SELECT run_id FROM smoltrace_run_spans
 WHERE trace_id IN (SELECT trace_id FROM derive_trace_ids) AND trace_id BETWEEN $lo AND $hi AND run_id IS NOT NULL
UNION
SELECT attributes->>'smoltrace.run.id' FROM derive_spans
 WHERE span_name IN ('smoltrace.run.started', 'smoltrace.run.heartbeat', 'smoltrace.run')
   AND attributes->>'smoltrace.run.id' IS NOT NULL;

-- step: forget
DELETE FROM smoltrace_task_facts WHERE trace_id IN (SELECT trace_id FROM derive_trace_ids) AND trace_id BETWEEN $lo AND $hi;
-- step: forget
DELETE FROM smoltrace_llm_calls WHERE trace_id IN (SELECT trace_id FROM derive_trace_ids) AND trace_id BETWEEN $lo AND $hi;
-- step: forget
DELETE FROM smoltrace_tool_calls WHERE trace_id IN (SELECT trace_id FROM derive_trace_ids) AND trace_id BETWEEN $lo AND $hi;
-- step: forget
DELETE FROM smoltrace_steps WHERE trace_id IN (SELECT trace_id FROM derive_trace_ids) AND trace_id BETWEEN $lo AND $hi;
-- step: forget
DELETE FROM smoltrace_run_spans WHERE trace_id IN (SELECT trace_id FROM derive_trace_ids) AND trace_id BETWEEN $lo AND $hi;

-- step: store
INSERT INTO smoltrace_llm_calls BY NAME SELECT * FROM derive_llm;

-- step: store
INSERT INTO smoltrace_tool_calls BY NAME SELECT * FROM derive_tools;

-- step: store
-- One row per agent step (OpenInference CHAIN spans named "Step N"), with its outermost LLM calls,
-- their tokens and the tools it called.
INSERT INTO smoltrace_steps BY NAME
WITH step_llm AS (
    SELECT trace_id, step_span_id, count(*) AS llm_calls, sum(total_tokens)::BIGINT AS total_tokens
    FROM derive_llm GROUP BY ALL
),
step_tools AS (
    SELECT trace_id, step_span_id, list(tool_name ORDER BY start_time, span_id) AS tools_called
    FROM derive_tools GROUP BY ALL
)
SELECT ts.run_id, ts.task_uid, ts.agent_type, t.trace_id, t.span_id,
       TRY_CAST(regexp_extract(s.span_name, 'Step (\d+)', 1) AS INTEGER) AS step_number,
       s.start_time, s.duration_ns / 1e6 AS duration_ms, s.status_code, s.status_message,
       coalesce(l.llm_calls, 0) AS llm_calls, coalesce(l.total_tokens, 0) AS total_tokens,
       coalesce(c.tools_called, []) AS tools_called
FROM derive_tree AS t
JOIN derive_spans AS s USING (trace_id, span_id)
JOIN derive_tasks AS ts ON ts.trace_id = t.trace_id AND ts.span_id = t.task_span_id
LEFT JOIN step_llm AS l ON l.trace_id = t.trace_id AND l.step_span_id = t.span_id
LEFT JOIN step_tools AS c ON c.trace_id = t.trace_id AND c.step_span_id = t.span_id
WHERE t.is_step;

-- step: store
INSERT INTO smoltrace_task_facts BY NAME
WITH tools AS (
    SELECT trace_id,
           list(tool_name ORDER BY start_time, span_id) FILTER (WHERE NOT is_final_answer) AS tools_used,
           count(*) AS tool_calls,
           count(*) FILTER (WHERE is_final_answer) AS final_answer_calls
    FROM derive_tools GROUP BY trace_id
),
tokens AS (
    SELECT trace_id, count(*) AS llm_calls, sum(prompt_tokens)::BIGINT AS prompt_tokens,
           sum(completion_tokens)::BIGINT AS completion_tokens, sum(total_tokens)::BIGINT AS total_tokens,
           sum(cost_usd) AS cost_usd
    FROM derive_llm GROUP BY trace_id
),
step_counts AS (
    SELECT t.trace_id, count(*) AS steps, count(*) FILTER (WHERE s.ran_code) AS code_runs
    FROM derive_tree AS t JOIN derive_spans AS s USING (trace_id, span_id)
    WHERE t.is_step GROUP BY t.trace_id
),
-- Planning steps have no step span of their own: smolagents calls the model for a plan directly under
-- the agent, just before the step that follows the plan. So a planning step is an outermost LLM call
-- beside the agent's steps (same parent) that starts before its last step; the answer smolagents forces
-- after max_steps also sits beside the steps, but after the last one, and is not a step.
agent_steps AS (
    SELECT t.trace_id, s.parent_span_id, max(s.start_time) AS last_step_start
    FROM derive_tree AS t JOIN derive_spans AS s USING (trace_id, span_id)
    WHERE t.is_step GROUP BY ALL
),
planning AS (
    SELECT l.trace_id, count(*) AS planning_steps
    FROM derive_llm AS l
    JOIN derive_spans AS s USING (trace_id, span_id)
    JOIN agent_steps AS a ON a.trace_id = s.trace_id AND a.parent_span_id = s.parent_span_id
    WHERE s.start_time < a.last_step_start
    GROUP BY l.trace_id
),
span_counts AS (
    SELECT trace_id, count(*) AS span_count FROM derive_spans GROUP BY trace_id
)
SELECT ts.*,
       coalesce(tools.tools_used, []) AS tools_used,
       coalesce(tools.tool_calls, 0) AS tool_calls,
       coalesce(tools.final_answer_calls, 0) AS final_answer_calls,
       CASE WHEN ts.expected_tool IS NOT NULL
            THEN len(list_filter(coalesce(tools.tools_used, []), lambda name: name = ts.expected_tool)) END
           AS expected_tool_runs,
       len(list_filter(ts.expected_keywords,
                       lambda keyword: strpos(lower(coalesce(ts.response, '')), lower(keyword)) > 0))
           AS keywords_found,
       coalesce(step_counts.steps, 0) AS steps,
       coalesce(tokens.llm_calls, 0) AS llm_calls,
       coalesce(tokens.prompt_tokens, 0) AS prompt_tokens,
       coalesce(tokens.completion_tokens, 0) AS completion_tokens,
       coalesce(tokens.total_tokens, 0) AS total_tokens,
       tokens.cost_usd,
       span_counts.span_count,
       CASE WHEN ts.agent_type = 'code' THEN coalesce(step_counts.code_runs, 0) ELSE 0 END AS code_runs,
       coalesce(planning.planning_steps, 0) AS planning_steps
FROM derive_tasks AS ts
LEFT JOIN tools USING (trace_id)
LEFT JOIN tokens USING (trace_id)
LEFT JOIN step_counts USING (trace_id)
LEFT JOIN planning USING (trace_id)
LEFT JOIN span_counts USING (trace_id);

-- step: store
INSERT INTO smoltrace_run_spans BY NAME
SELECT attributes->>'smoltrace.run.id' AS run_id, trace_id, span_id, span_name, attributes, start_time, duration_ns
FROM derive_spans
WHERE span_name IN ('smoltrace.run.started', 'smoltrace.run.heartbeat', 'smoltrace.run');
