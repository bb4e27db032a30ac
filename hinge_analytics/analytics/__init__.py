"""Analytics: DuckDB SQL over the lake's Delta tables, scanned as Arrow datasets (no copy)."""

from __future__ import annotations

from importlib.resources import files

import duckdb
import polars as pl

from hinge_analytics.lake import Lake, LakeError
from hinge_analytics.schema import TABLES


def connect(lake: Lake) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with the lake's views (analytics/views.sql)."""
    if not lake.is_lake():
        raise LakeError(f"no lake at {lake.root} (run `hinge ingest` first)")
    lake.create()  # tables a newer version added appear empty rather than missing
    con = duckdb.connect(":memory:")
    for name in TABLES:
        con.register(f"{name}_raw", lake.dataset(name))
    con.execute(files("hinge_analytics.analytics").joinpath("views.sql").read_text())
    return con


def query(lake: Lake, sql: str, params: list | None = None) -> pl.DataFrame:
    con = connect(lake)
    try:
        return con.sql(sql, params=params or None).pl()
    finally:
        con.close()


class QueryError(ValueError):
    """SQL that `hinge query` refuses or DuckDB rejects; the message is for the user."""


def read_only_query(lake: Lake, sql: str) -> pl.DataFrame:
    """Run one SELECT/WITH statement with file and network access switched off.

    The views sit on in-memory Arrow datasets, so nothing a query does can change the lake; with
    external access disabled and the configuration locked, it cannot read or write other files.
    """
    statements = [s for s in duckdb.extract_statements(sql)]
    if len(statements) != 1 or statements[0].type != duckdb.StatementType.SELECT:
        raise QueryError("hinge query runs exactly one read-only SELECT statement.")
    con = connect(lake)
    try:
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
        return con.sql(sql).pl()
    except duckdb.Error as exc:
        raise QueryError(str(exc).splitlines()[0]) from exc
    finally:
        con.close()
