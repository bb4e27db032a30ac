"""Reading a lake with DuckDB: the views of `analytics` over the lake's tables, one-off queries,
the rep export, and `hinge query`'s sandboxed read-only statements."""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections.abc import Callable, Collection, Iterator, Mapping

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.dataset as pads

from hinge_analytics.analytics import (
    DERIVED_COLUMNS,
    QueryError,
    QueryInterrupted,
    QueryStopped,
    UnknownColumns,
    closest_columns,
    connect_tables,
    export_reps_columns,
    frame,
)
from hinge_analytics.features.curves import rep_curves
from hinge_analytics.lake import Lake, LakeError, recordings_filter
from hinge_analytics.schema import CURVE_COLUMNS, TABLES, empty

# Tables a later version added: lakes written before lack them, and they read as empty. A lake
# lacking any other table is incomplete (creation writes every table, `recordings` last).
ADDED_TABLES = frozenset({"rep_curves", "video_landmarks"})


def missing_tables(lake: Lake) -> list[str]:
    """The tables of the schema the lake has no Delta table for."""
    return [name for name in TABLES if not lake.exists(name)]


def open_tables(lake: Lake, create: bool = True) -> dict[str, pads.Dataset]:
    """Every lake table as an Arrow dataset of its current version (what `connect` registers).

    ``create`` (for writers such as predict) first adds what a newer version defines (tables,
    columns) to the lake. Without it nothing is written: a table a newer version added reads as
    empty and a column as null, and a lake missing any other table is refused with LakeError
    naming what is missing.
    """
    if not lake.is_lake():
        raise LakeError(f"no lake at {lake.root} (run `hinge ingest MANIFEST` first)")
    if create:
        lake.create()
        return {name: lake.dataset(name) for name in TABLES}
    missing = missing_tables(lake)
    broken = [name for name in missing if name not in ADDED_TABLES]
    if broken:
        raise LakeError(
            f"the lake at {lake.root} is incomplete: no {', '.join(broken)} table; "
            "re-create it with `hinge ingest MANIFEST --force`"
        )
    return {name: _read_only_dataset(lake, name, name in missing) for name in TABLES}


def _read_only_dataset(lake: Lake, name: str, missing: bool) -> pads.Dataset:
    schema = empty(TABLES[name]).to_arrow().schema
    if missing:
        return pads.dataset(schema.empty_table())
    dataset = lake.dataset(name)
    absent = [field for field in schema if field.name not in dataset.schema.names]
    if not absent:
        return dataset
    # Arrow reads a column the dataset's schema has and a file lacks as nulls.
    return dataset.replace_schema(pa.unify_schemas([dataset.schema, pa.schema(absent)]))


def connect(
    lake: Lake,
    recording_ids: Collection[str] | None = None,
    tables: Mapping[str, pads.Dataset] | None = None,
) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with the lake's views (`analytics.connect_tables`).

    Opening it never writes to the lake (``open_tables(create=False)``) nor anywhere else.

    ``tables`` (from `open_tables`) reuses datasets already opened, for many connections over one
    version of the lake: opening the eight Delta tables took 0.4 s at 10,000 recordings.

    With ``recording_ids`` every table is scoped to those recordings (`lake.recordings_filter`):
    the filter sits on the Arrow datasets DuckDB scans, so rows of other recordings never reach
    DuckDB's joins, and row groups holding none of them are not read.
    """
    tables = open_tables(lake, create=False) if tables is None else tables
    if recording_ids is not None:
        scope = recordings_filter(recording_ids)
        tables = {name: dataset.filter(scope) for name, dataset in tables.items()}
    return connect_tables(tables)


def query(lake: Lake, sql: str, params: list | None = None) -> pl.DataFrame:
    """One query on a connection opened for it (several queries: `connect` once and use `frame`)."""
    con = connect(lake)
    try:
        return frame(con, sql, params)
    finally:
        con.close()


def export_reps(lake: Lake, columns: list[str] | None = None, athlete: str | None = None) -> pl.DataFrame:
    """One row per rep with every rep column (`export_reps_columns`), or the ``columns`` asked for
    in that order; ``athlete`` keeps one athlete's reps. Raises UnknownColumns for a name the
    export does not have."""
    con = connect(lake)
    try:
        available = export_reps_columns(con)
        chosen = available if not columns else list(dict.fromkeys(columns))
        unknown = [c for c in chosen if c not in available]
        if unknown:
            hints = [
                f"{c!r} (did you mean {closest_columns(c, available)}?)"
                if closest_columns(c, available)
                else repr(c)
                for c in unknown
            ]
            raise UnknownColumns(f"no rep column {', '.join(hints)}; docs/reports.md lists every column")
        select = ", ".join(
            f"{DERIVED_COLUMNS[c]} AS {c}" if c in DERIVED_COLUMNS else f'"{c}"' for c in chosen
        )
        where = "WHERE athlete_id = ? " if athlete is not None else ""
        sql = f"SELECT {select} FROM rep_view {where}ORDER BY athlete_id, session_date, recording_id, rep"
        return frame(con, sql, [athlete] if athlete is not None else None)
    finally:
        con.close()


def with_curves(con: duckdb.DuckDBPyConnection, reps: pl.DataFrame) -> pl.DataFrame:
    """``reps`` with the angle curves of each rep (``schema.CURVE_COLUMNS``) from the lake's
    ``rep_curves`` (``con``: `connect`); null where a rep has no angle frames.
    Recordings ingested before curves were stored get theirs from their frame angles here (same
    function as at ingest)."""
    reps = reps.drop([c for c in CURVE_COLUMNS if c in reps.columns])
    if reps.height == 0:
        return reps.with_columns([pl.lit(None, pl.Float32).alias(c) for c in CURVE_COLUMNS])
    ids = reps["recording_id"].unique().to_list()
    only = "WHERE recording_id IN (SELECT unnest(?::VARCHAR[]))"
    curves = frame(con, f"SELECT * EXCLUDE (ingest_id) FROM rep_curves {only}", [ids])
    older = sorted(set(ids) - set(curves["recording_id"].to_list()))
    if older:
        angles = frame(con, f"SELECT * FROM angles {only} ORDER BY recording_id, t_s", [older])
        phases = "t_start_s, t_bottom_s, t_end_s, eccentric_s, concentric_s, top_pause_s"  # cycle.rep_cycles
        spans = frame(con, f"SELECT recording_id, rep, {phases} FROM reps {only}", [older])
        frames = angles.partition_by("recording_id", as_dict=True)
        curves = pl.concat(
            [curves]
            + [
                rep_curves(frames[(rid,)], part).select(pl.lit(rid).alias("recording_id"), pl.all())
                for (rid,), part in spans.partition_by("recording_id", as_dict=True).items()
                if (rid,) in frames  # a rep always has its recording's angles; never assume it
            ],
            how="vertical_relaxed",
        )
    curves = curves.with_columns(pl.col("rep").cast(reps.schema["rep"]))
    return reps.join(curves, on=["recording_id", "rep"], how="left")


# `hinge query` limits: a cross join of two 10^6-row tables runs for hours and a few joins of the
# frame tables can grow to several GB.
QUERY_TIMEOUT_S = 120.0
QUERY_MEMORY_LIMIT = "2GB"
_POLL_S = 0.05  # how often the waiting thread checks the clock, memory and Ctrl-C
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(|B|KB|MB|GB|TB|KIB|MIB|GIB|TIB)\s*$", re.IGNORECASE)
_UNITS = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}
_UNITS |= {"KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}


def parse_size(text: str) -> int:
    """Bytes in a size like ``2GB``, ``500MB``, ``1.5GiB`` (QueryError if it is not one)."""
    match = _SIZE.match(text)
    if match is None or float(match[1]) <= 0:
        raise QueryError(f"{text!r} is not a memory size like 500MB or 2GB.")
    return int(float(match[1]) * _UNITS[match[2].upper()])


def _status_bytes(field: str) -> int | None:
    """A ``/proc/self/status`` size (Linux), else None."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(f"{field}:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


@contextlib.contextmanager
def _data_limit(extra_bytes: int) -> Iterator[None]:
    """While the block runs, the process may allocate at most ``extra_bytes`` more (a soft
    RLIMIT_DATA over its current data size, Linux): DuckDB then fails the allocation as its own
    out-of-memory error. The previous limit is restored afterwards."""
    try:
        import resource
    except ImportError:  # not a Unix
        yield
        return
    current = _status_bytes("VmData")
    soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
    cap = None if current is None else current + extra_bytes
    if cap is not None and hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    if cap is None or (soft != resource.RLIM_INFINITY and soft <= cap):
        yield
        return
    resource.setrlimit(resource.RLIMIT_DATA, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_DATA, (soft, hard))


def _rss_bytes() -> int | None:
    """This process's resident memory (Linux), else None."""
    return _status_bytes("VmRSS")


def _refuse_raw(sql: str) -> None:
    """The ``<table>_raw`` relations are the lake's files as written, rows of interrupted ingests
    included (views.sql keeps only committed ones): a query naming them is refused."""
    try:
        named = duckdb.connect(":memory:").get_table_names(sql)
    except duckdb.Error:
        return  # a query DuckDB cannot parse fails with DuckDB's own message when it runs
    raw = sorted(n for n in named if n.lower().endswith("_raw"))
    if raw:
        views = ", ".join(sorted({n.lower().removesuffix("_raw") for n in raw}))
        raise QueryError(
            f"{', '.join(raw)} hold the lake's files as written, rows of interrupted ingests included; "
            f"query the views instead ({views}), which show committed recordings only."
        )


def read_only_query(
    lake: Lake,
    sql: str,
    timeout_s: float = QUERY_TIMEOUT_S,
    memory_limit: str = QUERY_MEMORY_LIMIT,
    max_rows: int | None = None,
    cap_process_memory: bool = False,
) -> pl.DataFrame:
    """Run one SELECT/WITH statement with file and network access switched off, within limits.

    The views sit on in-memory Arrow datasets opened without writing (`connect`), so nothing a
    query does can change the lake; with external access disabled, no spilling and the
    configuration locked, it cannot read or write other files either.

    Limits: ``memory_limit`` is DuckDB's own (its operators fail cleanly beyond it) and also a
    watchdog on the process's resident memory, for what DuckDB does not count (one
    ``repeat('x', 2e9)`` string took 6 GB under a 500 MB limit, 4.2 GB with the watchdog alone).
    ``cap_process_memory`` (for a process that runs nothing else, like `hinge query`) makes it a
    hard limit: the process may allocate at most ``memory_limit`` more while the query runs
    (`_data_limit`; that ``repeat`` then fails in 0.1 s at 210 MB). Past ``timeout_s`` or the memory
    watchdog, and on Ctrl-C, the query is interrupted (``connection.interrupt()``) and
    `QueryStopped` raised: the query runs on a worker thread while this one waits in short steps,
    so a signal is handled at once instead of after DuckDB returns. With ``max_rows`` at most
    ``max_rows + 1`` rows are fetched (a LIMIT DuckDB stops at), so the caller can tell that more
    exist without the whole result being built.
    """
    memory_bytes = parse_size(memory_limit)
    if timeout_s <= 0:
        raise QueryError("the time limit must be positive.")
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise QueryError(str(exc).splitlines()[0]) from exc
    if len(statements) != 1 or statements[0].type != duckdb.StatementType.SELECT:
        raise QueryError("hinge query runs exactly one read-only SELECT statement.")
    _refuse_raw(sql)
    con = connect(lake)
    try:
        con.execute(f"SET memory_limit = '{max(1, memory_bytes // 1024)}KiB'")
        con.execute("SET autoinstall_known_extensions = false")  # no download, no load of a
        con.execute("SET autoload_known_extensions = false")  # delta/httpfs/... mid-query
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")

        def run() -> pa.Table:
            # con.sql() is inside the limits too: it folds constant expressions, so a query such as
            # repeat('x', 2e9) can take seconds and gigabytes before anything is executed
            relation = con.sql(sql)
            if max_rows is not None:
                relation = relation.limit(max_rows + 1)
            return relation.to_arrow_table()

        with _data_limit(memory_bytes) if cap_process_memory else contextlib.nullcontext():
            table = _watched(con, run, timeout_s, memory_bytes, memory_limit)
        return pl.from_arrow(table)  # type: ignore[return-value]  # zero-copy, past the limit
    except (duckdb.OutOfMemoryException, MemoryError) as exc:
        raise QueryStopped(
            f"the query needs more than {memory_limit} of memory (raise --memory-limit): "
            f"{str(exc).splitlines()[0]}"
        ) from exc
    except duckdb.Error as exc:
        raise QueryError(str(exc).splitlines()[0]) from exc
    finally:
        # DuckDB refuses (rather than waits) to close a connection a stopped query still runs on;
        # that query's thread is a daemon and ends with the process
        with contextlib.suppress(duckdb.Error):
            con.close()


def _watched(
    con: duckdb.DuckDBPyConnection,
    run: Callable[[], pa.Table],
    timeout_s: float,
    memory_bytes: int,
    memory_limit: str,
) -> pa.Table:
    """``run()`` on a worker thread, interrupted on timeout, memory use or Ctrl-C.

    The raised `QueryStopped` says (``still_running``) whether the worker ignored the interrupt for
    2 s (one long function call such as ``repeat`` notices it only when it returns)."""
    box: dict[str, object] = {}
    done = threading.Event()  # not Thread.join: a join that Ctrl-C interrupted may misreport

    def work() -> None:
        try:
            box["result"] = run()
        except BaseException as exc:  # handed to the waiting thread
            box["error"] = exc
        finally:
            done.set()

    baseline = _rss_bytes()
    threading.Thread(target=work, name="hinge-query", daemon=True).start()
    started = time.monotonic()
    reason: QueryStopped | None = None
    try:
        while not done.wait(_POLL_S):
            rss = _rss_bytes()
            if time.monotonic() - started > timeout_s:
                reason = QueryStopped(
                    f"the query took longer than {timeout_s:g} s and was stopped (raise --timeout)"
                )
            elif baseline is not None and rss is not None and rss - baseline > memory_bytes:
                reason = QueryStopped(
                    f"the query used more than {memory_limit} of memory and was stopped "
                    "(raise --memory-limit)"
                )
            if reason is not None:
                break
    except KeyboardInterrupt:
        reason = QueryInterrupted("query interrupted")
    if reason is not None:
        con.interrupt()
        reason.still_running = not done.wait(2.0)
        raise reason from None
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["result"]  # type: ignore[return-value]
