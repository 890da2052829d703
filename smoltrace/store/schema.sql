-- Raw OpenTelemetry tables, in the shape of the OpenTelemetry Collector ClickHouse exporter's schema
-- (the de-facto SQL shape of OTLP data), in DuckDB types.
--
-- Attribute columns are JSON: every OTLP value keeps its type (string, integer, double, boolean, array,
-- key-value list); bytes values are stored base64-encoded and non-finite doubles as the strings
-- "NaN", "Infinity" and "-Infinity" (JSON has no literal for them). Query them with
-- SpanAttributes->>'gen_ai.tool.name' (text) or SpanAttributes->'llm.token_count.prompt' (JSON).
-- Trace and span ids are lowercase hex; ParentSpanId is '' for a root span.
-- Events and Links are lists of structs (ClickHouse uses Nested columns for the same data).

CREATE TABLE IF NOT EXISTS otel_traces (
    "Timestamp"          TIMESTAMP_NS NOT NULL,
    "TraceId"            VARCHAR NOT NULL,
    "SpanId"             VARCHAR NOT NULL,
    "ParentSpanId"       VARCHAR NOT NULL,
    "TraceState"         VARCHAR NOT NULL,
    "SpanName"           VARCHAR NOT NULL,
    "SpanKind"           VARCHAR NOT NULL,
    "ServiceName"        VARCHAR NOT NULL,
    "ResourceAttributes" JSON NOT NULL,
    "ScopeName"          VARCHAR NOT NULL,
    "ScopeVersion"       VARCHAR NOT NULL,
    "SpanAttributes"     JSON NOT NULL,
    "Duration"           BIGINT NOT NULL,
    "StatusCode"         VARCHAR NOT NULL,
    "StatusMessage"      VARCHAR NOT NULL,
    "Events"             STRUCT("Timestamp" TIMESTAMP_NS, "Name" VARCHAR, "Attributes" JSON)[] NOT NULL,
    "Links"              STRUCT("TraceId" VARCHAR, "SpanId" VARCHAR, "TraceState" VARCHAR, "Attributes" JSON)[] NOT NULL
);

CREATE TABLE IF NOT EXISTS otel_metrics_gauge (
    "ServiceName"        VARCHAR NOT NULL,
    "ResourceAttributes" JSON NOT NULL,
    "ScopeName"          VARCHAR NOT NULL,
    "ScopeVersion"       VARCHAR NOT NULL,
    "MetricName"         VARCHAR NOT NULL,
    "MetricDescription"  VARCHAR NOT NULL,
    "MetricUnit"         VARCHAR NOT NULL,
    "Attributes"         JSON NOT NULL,
    "StartTimeUnix"      TIMESTAMP_NS,
    "TimeUnix"           TIMESTAMP_NS NOT NULL,
    "Value"              DOUBLE NOT NULL,
    "Flags"              UINTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS otel_metrics_sum (
    "ServiceName"            VARCHAR NOT NULL,
    "ResourceAttributes"     JSON NOT NULL,
    "ScopeName"              VARCHAR NOT NULL,
    "ScopeVersion"           VARCHAR NOT NULL,
    "MetricName"             VARCHAR NOT NULL,
    "MetricDescription"      VARCHAR NOT NULL,
    "MetricUnit"             VARCHAR NOT NULL,
    "Attributes"             JSON NOT NULL,
    "StartTimeUnix"          TIMESTAMP_NS,
    "TimeUnix"               TIMESTAMP_NS NOT NULL,
    "Value"                  DOUBLE NOT NULL,
    "Flags"                  UINTEGER NOT NULL,
    "AggregationTemporality" INTEGER NOT NULL,
    "IsMonotonic"            BOOLEAN NOT NULL
);

CREATE TABLE IF NOT EXISTS otel_metrics_histogram (
    "ServiceName"            VARCHAR NOT NULL,
    "ResourceAttributes"     JSON NOT NULL,
    "ScopeName"              VARCHAR NOT NULL,
    "ScopeVersion"           VARCHAR NOT NULL,
    "MetricName"             VARCHAR NOT NULL,
    "MetricDescription"      VARCHAR NOT NULL,
    "MetricUnit"             VARCHAR NOT NULL,
    "Attributes"             JSON NOT NULL,
    "StartTimeUnix"          TIMESTAMP_NS,
    "TimeUnix"               TIMESTAMP_NS NOT NULL,
    "Count"                  UBIGINT NOT NULL,
    "Sum"                    DOUBLE,
    "BucketCounts"           UBIGINT[] NOT NULL,
    "ExplicitBounds"         DOUBLE[] NOT NULL,
    "Min"                    DOUBLE,
    "Max"                    DOUBLE,
    "Flags"                  UINTEGER NOT NULL,
    "AggregationTemporality" INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS otel_metrics_summary (
    "ServiceName"        VARCHAR NOT NULL,
    "ResourceAttributes" JSON NOT NULL,
    "ScopeName"          VARCHAR NOT NULL,
    "ScopeVersion"       VARCHAR NOT NULL,
    "MetricName"         VARCHAR NOT NULL,
    "MetricDescription"  VARCHAR NOT NULL,
    "MetricUnit"         VARCHAR NOT NULL,
    "Attributes"         JSON NOT NULL,
    "StartTimeUnix"      TIMESTAMP_NS,
    "TimeUnix"           TIMESTAMP_NS NOT NULL,
    "Count"              UBIGINT NOT NULL,
    "Sum"                DOUBLE NOT NULL,
    "ValueAtQuantiles"   STRUCT("Quantile" DOUBLE, "Value" DOUBLE)[] NOT NULL,
    "Flags"              UINTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS otel_logs (
    "Timestamp"          TIMESTAMP_NS NOT NULL,
    "TraceId"            VARCHAR NOT NULL,
    "SpanId"             VARCHAR NOT NULL,
    "TraceFlags"         UINTEGER NOT NULL,
    "SeverityText"       VARCHAR NOT NULL,
    "SeverityNumber"     INTEGER NOT NULL,
    "ServiceName"        VARCHAR NOT NULL,
    "Body"               JSON,
    "ResourceAttributes" JSON NOT NULL,
    "ScopeName"          VARCHAR NOT NULL,
    "ScopeVersion"       VARCHAR NOT NULL,
    "LogAttributes"      JSON NOT NULL,
    "EventName"          VARCHAR NOT NULL
);

-- One row per accepted export request: its digest makes a retried (byte-identical) request a no-op.
-- No PRIMARY KEY: the collector, the only writer, checks digests in memory before inserting, and the
-- index cost ~2 ms per commit (measured with bench/collector_ingest.py: ~5% of ingest throughput).
CREATE TABLE IF NOT EXISTS smoltrace_ingested_requests (
    "Digest"     VARCHAR NOT NULL,
    "Signal"     VARCHAR NOT NULL,
    "Items"      BIGINT NOT NULL,
    "ReceivedAt" TIMESTAMP NOT NULL
);

-- The rows already stored of each request that the last checkpoint stored in part (per table). The
-- collector's checkpoints wait for whole row groups of spans, and a row group may end inside a request;
-- a restart replays such a request from the request log without these rows. Rewritten at every checkpoint.
CREATE TABLE IF NOT EXISTS smoltrace_stored_parts (
    "Digest"    VARCHAR NOT NULL,
    "TableName" VARCHAR NOT NULL,
    "Rows"      BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS smoltrace_schema_migrations (
    "Version"   INTEGER PRIMARY KEY,
    "AppliedAt" TIMESTAMP NOT NULL
);

-- The digest of the view definitions that created the store's views (database.views_digest), written by
-- every writable open: a read-only open of a store whose views another smoltrace release created
-- re-creates them first, so that every reader gets this release's views (new ones, changed verdicts).
CREATE TABLE IF NOT EXISTS smoltrace_views_digest (
    "Digest" VARCHAR NOT NULL
);
