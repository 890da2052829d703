-- spans: otel_traces without duplicates, plus the span's semantic kind.
-- Byte-identical retried requests are already dropped at write (smoltrace_ingested_requests); this also
-- drops a span that reached the store twice inside two different requests.
-- semantic_kind reads OpenInference first, then the OTel GenAI conventions:
-- AGENT | CHAIN | LLM | TOOL | NULL.
CREATE OR REPLACE VIEW spans AS
SELECT
    s.*,
    coalesce(
        s."SpanAttributes"->>'openinference.span.kind',
        CASE s."SpanAttributes"->>'gen_ai.operation.name'
            WHEN 'chat' THEN 'LLM'
            WHEN 'text_completion' THEN 'LLM'
            WHEN 'generate_content' THEN 'LLM'
            WHEN 'execute_tool' THEN 'TOOL'
            WHEN 'invoke_agent' THEN 'AGENT'
            WHEN 'create_agent' THEN 'AGENT'
        END
    ) AS semantic_kind
FROM (SELECT DISTINCT ON ("TraceId", "SpanId") * FROM otel_traces) AS s;
