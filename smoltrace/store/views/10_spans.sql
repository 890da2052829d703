-- semantic_kind_of(openinference kind, gen_ai operation): what a span is, reading OpenInference first,
-- then the OTel GenAI conventions: AGENT | CHAIN | LLM | TOOL | NULL.
CREATE OR REPLACE MACRO semantic_kind_of(openinference_kind, gen_ai_operation) AS
    coalesce(
        openinference_kind,
        CASE gen_ai_operation
            WHEN 'chat' THEN 'LLM'
            WHEN 'text_completion' THEN 'LLM'
            WHEN 'generate_content' THEN 'LLM'
            WHEN 'execute_tool' THEN 'TOOL'
            WHEN 'invoke_agent' THEN 'AGENT'
            WHEN 'create_agent' THEN 'AGENT'
        END
    );

-- semantic_kind(attributes): the same, from a span's attribute JSON.
CREATE OR REPLACE MACRO semantic_kind(attributes) AS
    semantic_kind_of(attributes->>'openinference.span.kind', attributes->>'gen_ai.operation.name');

-- spans: otel_traces without duplicates, plus the span's semantic kind. Byte-identical retried requests
-- are already dropped at write (smoltrace_ingested_requests); this also drops a span that reached the
-- store twice inside two different requests, keeping the copy the facts keep (facts/derive.sql).
-- Filter on "TraceId" to read one task's spans: that reads only the row groups that can hold it.
CREATE OR REPLACE VIEW spans AS
SELECT *, semantic_kind("SpanAttributes") AS semantic_kind
FROM otel_traces
QUALIFY row_number() OVER (
    PARTITION BY "TraceId", "SpanId" ORDER BY "Duration" DESC, hash("SpanAttributes"), "Timestamp"
) = 1;
