"""Rows (JSON-ready dicts from the views) to Parquet that ``datasets.load_dataset`` loads.

Why not ``pa.Table.from_pylist`` alone: nested values (span attributes, events, dicts) would become
struct columns whose schema changes with every run's attribute keys, so two runs' files would not
concatenate and the Hub's viewer would choke. Here a column is a scalar, a list of scalars, or JSON
text; the schema therefore depends only on which columns the views have, never on attribute keys.
"""

from __future__ import annotations

import io
import json

import pyarrow as pa
import pyarrow.parquet as pq

#: Arrow types ``datasets`` names differently in a card's ``dataset_info.features``.
_DTYPE_NAMES = {"double": "float64", "float": "float32", "halffloat": "float16"}


def _is_scalar(value) -> bool:
    return value is None or isinstance(value, (str, bool, int, float))


def _column_kind(values: list) -> str:
    """``scalar``, ``list`` (of scalars) or ``json`` for everything nested."""
    kind = "scalar"
    for value in values:
        if value is None:
            continue
        if isinstance(value, (list, tuple)) and all(_is_scalar(item) for item in value):
            kind = "list" if kind in ("scalar", "list") else kind
        elif not _is_scalar(value):
            return "json"
    return kind


def _json_text(value):
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def rows_to_table(rows: list[dict], json_columns: tuple[str, ...] = ()) -> pa.Table:
    """A table with one column per key (first-seen order); ``json_columns`` are always JSON text.

    Keys missing from a row are nulls. A column whose values mix lists and nested objects is JSON text.
    """
    names: list[str] = []
    for row in rows:
        for key in row:
            if key not in names:
                names.append(key)
    columns = {}
    for name in names:
        values = [row.get(name) for row in rows]
        kind = "json" if name in json_columns else _column_kind(values)
        if kind == "json":
            columns[name] = pa.array([_json_text(v) for v in values], pa.string())
        elif kind == "list":
            columns[name] = pa.array([list(v) if v is not None else None for v in values])
        else:
            columns[name] = _scalar_array(values)
    return pa.table(columns) if columns else pa.table({})


def _scalar_array(values: list) -> pa.Array:
    present = {type(v) for v in values if v is not None}
    if present == {int, float} or present == {float}:
        return pa.array([float(v) if v is not None else None for v in values], pa.float64())
    if len(present) > 1 and str in present:
        return pa.array([None if v is None else str(v) for v in values], pa.string())
    return pa.array(values)


def table_to_parquet(table: pa.Table) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


def parquet_to_table(data: bytes) -> pa.Table:
    return pq.read_table(io.BytesIO(data))


def feature_yaml(schema: pa.Schema) -> list[dict]:
    """``dataset_info.features`` as ``datasets`` writes it (``{"name", "dtype"}`` / ``{"name", "list"}``)."""
    features = []
    for field in schema:
        if pa.types.is_list(field.type) or pa.types.is_large_list(field.type):
            item = str(field.type.value_type)
            features.append({"name": field.name, "list": _DTYPE_NAMES.get(item, item)})
        else:
            dtype = str(field.type)
            features.append({"name": field.name, "dtype": _DTYPE_NAMES.get(dtype, dtype)})
    return features


def describe_type(arrow_type: pa.DataType) -> str:
    """A column's type for the card's table, in ``datasets``' words."""
    if pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type):
        item = str(arrow_type.value_type)
        return f"list[{_DTYPE_NAMES.get(item, item)}]"
    name = str(arrow_type)
    return _DTYPE_NAMES.get(name, name)


def union_tables(old: pa.Table, new: pa.Table) -> pa.Table:
    """``old`` rows then ``new`` rows, columns unioned (old columns first); a missing column is null.

    Types are promoted where Arrow can (null to anything, int to float); a column whose types cannot
    be reconciled becomes text in both, so an older leaderboard never stops the merge.
    """
    if old.num_columns == 0:
        return new
    names = list(old.column_names) + [n for n in new.column_names if n not in old.column_names]
    merged = {}
    for name in names:
        parts = [table.column(name) if name in table.column_names else pa.nulls(table.num_rows) for table in (old, new)]
        try:
            merged[name] = pa.concat_tables(
                [pa.table({name: part}) for part in parts], promote_options="permissive"
            ).column(name)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            values = [value for part in parts for value in part.to_pylist()]
            merged[name] = pa.array([_json_text(v) if not isinstance(v, str) else v for v in values], pa.string())
    return pa.table(merged)
