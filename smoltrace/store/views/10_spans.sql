-- semantic_kind(attributes): what a span is, reading OpenInference first, then the OTel GenAI
-- conventions: AGENT | CHAIN | LLM | TOOL | NULL.
CREATE OR REPLACE MACRO semantic_kind(attributes) AS
    coalesce(
        attributes->>'openinference.span.kind',
        CASE attributes->>'gen_ai.operation.name'
            WHEN 'chat' THEN 'LLM'
            WHEN 'text_completion' THEN 'LLM'
            WHEN 'generate_content' THEN 'LLM'
            WHEN 'execute_tool' THEN 'TOOL'
            WHEN 'invoke_agent' THEN 'AGENT'
            WHEN 'create_agent' THEN 'AGENT'
        END
    );

-- spans: otel_traces without duplicates, plus the span's semantic kind.
-- Byte-identical retried requests are already dropped at write (smoltrace_ingested_requests); this also
-- drops a span that reached the store twice inside two different requests.
CREATE OR REPLACE VIEW spans AS
SELECT s.*, semantic_kind(s."SpanAttributes") AS semantic_kind
FROM (SELECT DISTINCT ON ("TraceId", "SpanId") * FROM otel_traces) AS s;

-- span_links: only the small columns the span tree walks, one row per span. The derived views walk
-- this and then read otel_traces for just the spans they report, so no query drags every attribute of
-- every span through the recursion.
CREATE OR REPLACE VIEW span_links AS
SELECT DISTINCT "TraceId", "SpanId", "ParentSpanId", "SpanName", semantic_kind("SpanAttributes") AS semantic_kind
FROM otel_traces;
