"""How the store file lays out the spans table, for tests of the writer's row groups."""

#: Rows per row group of otel_traces, in file order (a row group may hold several segments per column).
ROW_GROUP_ROWS_SQL = (
    "SELECT sum(count) FROM pragma_storage_info('otel_traces') WHERE column_path = '[0]' "
    "GROUP BY row_group_id ORDER BY row_group_id"
)
