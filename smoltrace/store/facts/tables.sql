-- Derived tables: per-task and per-call *facts*, a pure function of the raw spans in otel_traces.
--
-- Why they exist: the views' definitions walk each trace's span tree, and doing that over the whole
-- store on every query made reading one run cost as much as reading every run. The collector derives
-- these rows at write time, in the transaction that stores the spans (derive.sql), for every trace that
-- holds a smoltrace task or run span; a trace is re-derived whole whenever one more of its spans
-- arrives, so the rows never depend on the order or the batches in which spans came. Verdicts are not
-- stored here: they stay views over these facts (views/*.sql), so a changed rule re-scores every run.
--
-- `smoltrace-store rebuild` empties these tables and derives them again from otel_traces.
-- Every table has trace_id (time-prefixed for smoltrace's runner: rows of a run sit together, so
-- DuckDB's min/max row-group statistics skip the rest of the store) and run_id.

CREATE TABLE IF NOT EXISTS smoltrace_task_facts (
    run_id                VARCHAR,
    trace_id              VARCHAR NOT NULL,
    span_id               VARCHAR NOT NULL,
    model                 VARCHAR,
    provider              VARCHAR,
    agent_type            VARCHAR,
    task_id               VARCHAR,
    task_uid              VARCHAR,
    repeat_index          INTEGER,
    difficulty            VARCHAR,
    category              VARCHAR,
    prompt                VARCHAR,
    expected_tool         VARCHAR,
    expected_tool_calls   INTEGER,
    expected_keywords     VARCHAR[],
    expected_answer       VARCHAR,
    response              VARCHAR,
    stop_reason           VARCHAR,
    error                 VARCHAR,
    input_cost_per_token  DOUBLE,
    output_cost_per_token DOUBLE,
    start_time            TIMESTAMP_NS,
    execution_time_ms     DOUBLE,
    tools_used            VARCHAR[],   -- tools that ran, other than final_answer, in start order
    tool_calls            INTEGER,     -- how many tool calls ran, final_answer included
    final_answer_calls    INTEGER,     -- how many of them were final_answer
    expected_tool_runs    INTEGER,     -- how many times the expected tool ran (NULL: no expected tool)
    keywords_found        INTEGER,     -- expected keywords found in the response, case-insensitive
    steps                 INTEGER,     -- action steps (OpenInference "Step N" spans)
    llm_calls             INTEGER,
    prompt_tokens         BIGINT,
    completion_tokens     BIGINT,
    total_tokens          BIGINT,
    cost_usd              DOUBLE,
    span_count            INTEGER,     -- distinct spans of the trace stored so far
    -- Added in schema version 4 (at the end, where ALTER TABLE puts them in a store written before):
    code_runs             INTEGER,     -- CodeAgent steps that ran code (smolagents' python_interpreter calls)
    planning_steps        INTEGER      -- planning steps (smolagents' PlanningStep), counted once each
);

CREATE TABLE IF NOT EXISTS smoltrace_llm_calls (
    run_id            VARCHAR,
    task_uid          VARCHAR,
    agent_type        VARCHAR,
    trace_id          VARCHAR NOT NULL,
    span_id           VARCHAR NOT NULL,
    step_span_id      VARCHAR,
    span_name         VARCHAR,
    model_name        VARCHAR,
    prompt_tokens     BIGINT,
    completion_tokens BIGINT,
    total_tokens      BIGINT,
    cost_usd          DOUBLE,
    start_time        TIMESTAMP_NS,
    duration_ms       DOUBLE,
    status_code       VARCHAR
);

CREATE TABLE IF NOT EXISTS smoltrace_tool_calls (
    run_id          VARCHAR,
    task_uid        VARCHAR,
    agent_type      VARCHAR,
    trace_id        VARCHAR NOT NULL,
    span_id         VARCHAR NOT NULL,
    step_span_id    VARCHAR,
    tool_name       VARCHAR,
    arguments       VARCHAR,
    output          VARCHAR,
    is_final_answer BOOLEAN,
    start_time      TIMESTAMP_NS,
    duration_ms     DOUBLE,
    status_code     VARCHAR,
    status_message  VARCHAR
);

CREATE TABLE IF NOT EXISTS smoltrace_steps (
    run_id         VARCHAR,
    task_uid       VARCHAR,
    agent_type     VARCHAR,
    trace_id       VARCHAR NOT NULL,
    span_id        VARCHAR NOT NULL,
    step_number    INTEGER,
    start_time     TIMESTAMP_NS,
    duration_ms    DOUBLE,
    status_code    VARCHAR,
    status_message VARCHAR,
    llm_calls      BIGINT,
    total_tokens   BIGINT,
    tools_called   VARCHAR[]
);

-- The runner's run-level spans (smoltrace.run.started, smoltrace.run.heartbeat, smoltrace.run), as
-- stored: the runs view reads them from here instead of scanning otel_traces for three span names.
CREATE TABLE IF NOT EXISTS smoltrace_run_spans (
    run_id      VARCHAR,
    trace_id    VARCHAR NOT NULL,
    span_id     VARCHAR NOT NULL,
    span_name   VARCHAR NOT NULL,
    attributes  JSON,
    start_time  TIMESTAMP_NS,
    duration_ns BIGINT
);

-- One row per run, from its run-level spans above (facts/derive.sql, its "runs" steps): what run_info
-- shows, read from plain columns. Without it, every read of run_info (the runs list, the leaderboard's
-- run columns) extracted each run's fields from JSON for every run in the store. `status` is the status
-- the runner recorded when the run ended (NULL until then); run_info decides 'running' or 'abandoned'
-- from last_seen_ns at read time, since that depends on the clock.
CREATE TABLE IF NOT EXISTS smoltrace_run_facts (
    run_id            VARCHAR NOT NULL,
    model             VARCHAR,
    provider          VARCHAR,
    agent_types       VARCHAR,
    dataset           VARCHAR,
    dataset_revision  VARCHAR,
    dataset_split     VARCHAR,
    planned_tasks     INTEGER,
    status            VARCHAR,
    started_at        TIMESTAMP_NS,
    finished_at       TIMESTAMP_NS,
    duration_ms       DOUBLE,
    max_steps         INTEGER,
    smoltrace_version VARCHAR,
    use_case          VARCHAR,
    team              VARCHAR,
    purpose           VARCHAR,
    suite_version     VARCHAR,
    last_seen_ns      BIGINT  -- when its latest run.started or heartbeat span ended, in ns since the epoch
);

-- Traces whose facts are to be (re)derived: the collector's writer adds them in the transaction that
-- stores their spans, its deriver removes them in the transaction that derives them (collector/deriver.py).
-- Entries left by a collector that stopped abruptly are derived when a collector next opens the store.
CREATE TABLE IF NOT EXISTS smoltrace_facts_queue (
    seq      BIGINT NOT NULL,
    trace_id VARCHAR NOT NULL
);
