"""CSV files a coach writes or saves from a spreadsheet: the batch manifest, a labels file.

Spreadsheet programs save "CSV" the way the computer's region says. On Windows the text is often
Windows-1252, not UTF-8. Where the decimal mark is a comma (most of continental Europe and Latin
America), the fields are separated by semicolons and numbers read ``102,5``: Excel takes the list
separator from the regional settings (Microsoft Support, "Import or export text (.txt or .csv)
files"; LibreOffice asks, and proposes the same). Both are read as they are, never lossily.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from hinge_analytics.ingest.errors import BadRecording

SEPARATORS = (",", ";", "\t")
_DECIMAL_COMMA = re.compile(r"^(\s*[+-]?\d+),(\d+([eE][+-]?\d+)?\s*)$")

# Byte-order marks, longest first: UTF-32's little-endian mark begins with UTF-16's.
_BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32", "UTF-32"),
    (b"\x00\x00\xfe\xff", "utf-32", "UTF-32"),
    (b"\xef\xbb\xbf", "utf-8-sig", "UTF-8"),
    (b"\xff\xfe", "utf-16", "UTF-16"),
    (b"\xfe\xff", "utf-16", "UTF-16"),
)


@dataclass(frozen=True)
class SheetTable:
    """A spreadsheet CSV read as text: every cell a string (or null), column names as written."""

    table: pl.DataFrame
    separator: str

    @property
    def decimal_comma(self) -> bool:
        """Not comma-separated: numbers may have a decimal comma (a region that writes 1,5 saves
        semicolons, and its "text (tab delimited)" keeps the comma too)."""
        return self.separator != ","


def decode_text(data: bytes, what: str) -> str:
    """The text of a file a coach saved (``what`` names it in messages, e.g. "The manifest m.csv"):
    by its byte-order mark (UTF-8, UTF-16, UTF-32), else UTF-8, else Windows-1252 (the Latin-1
    superset spreadsheet programs save "CSV" in on Windows).

    Never decoded lossily: replacement characters made athletes "Müller" and "Mäller" one athlete.
    Raises BadRecording for text that is none of these (or UTF-16 without a byte-order mark).
    """
    for bom, codec, label in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(codec)
            except UnicodeDecodeError as exc:
                raise BadRecording(
                    f"{what} starts with a {label} byte-order mark but is not {label} text "
                    f"(byte {exc.start}); save it again as CSV UTF-8."
                ) from None
    head = data[:4096]
    if head.count(0) > len(head) // 4:  # every other byte NUL: UTF-16 text of ASCII characters
        raise BadRecording(
            f"{what} looks like UTF-16 text without a byte-order mark, so its byte order "
            "cannot be told; save it again as CSV UTF-8."
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError as exc:
        raise BadRecording(
            f"{what} is neither UTF-8 nor Windows-1252/Latin-1 text (byte "
            f"0x{data[exc.start]:02x} at offset {exc.start}); save it again as CSV UTF-8."
        ) from None


def separator(header: str) -> str:
    """The field separator of a CSV whose header line is ``header``: of comma, semicolon and tab,
    the one that splits it into most fields (a comma when none splits it more than another)."""
    return max(SEPARATORS, key=lambda sep: (len(next(csv.reader([header], delimiter=sep), [])), sep == ","))


def has_decimal_commas(lines: Iterable[str], sep: str) -> bool:
    """Whether cells of ``lines`` (split on ``sep``, not a comma) hold numbers like ``1,5``."""
    return sep != "," and any(
        _DECIMAL_COMMA.match(cell) for row in csv.reader(lines, delimiter=sep) for cell in row
    )


def read_sheet(path: Path, what: str) -> SheetTable:
    """``path`` as a table of strings (`decode_text`, `separator`). Raises BadRecording when the
    file cannot be read or is not CSV; which columns it must have is the caller's to say."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BadRecording(f"{what} cannot be read ({exc.strerror or exc}).") from exc
    if data.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):  # a zip (xlsx, ods) or an OLE file (xls)
        raise BadRecording(
            f"{what} is a spreadsheet workbook, not a CSV file; save it again as CSV UTF-8 "
            "(File > Save As)."
        )
    text = decode_text(data, what)
    sep = separator(next((line for line in text.splitlines() if line.strip()), ""))
    try:
        table = pl.read_csv(
            io.BytesIO(text.encode("utf-8")), separator=sep, infer_schema=False, truncate_ragged_lines=False
        )
    except (pl.exceptions.PolarsError, pl.exceptions.PanicException, OSError) as exc:
        raise BadRecording(f"{what} is not a readable CSV file ({exc}).") from exc
    return SheetTable(table, sep)


def decimal_point(value: str | None) -> str | None:
    """``102,5`` as ``102.5`` (``1,5E-2`` as ``1.5E-2``); anything else as it is."""
    return _DECIMAL_COMMA.sub(r"\1.\2", value) if value is not None else None


# Dates a spreadsheet writes back for a date typed in: the region's short date, sometimes with a
# midnight time. Year first (2026/03/14, 2026.03.14) and day.month.year with dots (14.03.2026, the
# German, Nordic and Slavic form) are unambiguous; with slashes, 03/04/2026 is 3 April in Europe and
# March 4 in the USA, so a column's own dates decide (`iso_dates`).
_YEAR_FIRST = re.compile(r"^(\d{4})[/.](\d{1,2})[/.](\d{1,2})$")
_DOTTED = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")
_SLASHED = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_MIDNIGHT = re.compile(r"^(\S+)(?:[ T]00:00(?::00(?:\.0+)?)?)$")


def iso_dates(values: list[str | None]) -> list[str | None]:
    """A column of dates as ``YYYY-MM-DD`` where its spelling says which day it is; other values as
    they are (the caller refuses them). Slashed dates are read day first when one of the column's
    dates can only be read so (13/03/2026), month first when one can only be read that way
    (03/13/2026), and left as they are when none says or both do."""
    bare = [_MIDNIGHT.sub(r"\1", v) if v is not None else None for v in values]
    slashed = [(int(m[1]), int(m[2])) for v in bare if v is not None and (m := _SLASHED.match(v))]
    day_first = any(a > 12 for a, _ in slashed)
    month_first = any(b > 12 for _, b in slashed)
    out: list[str | None] = []
    for value in bare:
        if value is None:
            out.append(None)
        elif m := _YEAR_FIRST.match(value):
            out.append(f"{m[1]}-{int(m[2]):02d}-{int(m[3]):02d}")
        elif m := _DOTTED.match(value):
            out.append(f"{m[3]}-{int(m[2]):02d}-{int(m[1]):02d}")
        elif (m := _SLASHED.match(value)) and day_first != month_first:
            day, month = (m[1], m[2]) if day_first else (m[2], m[1])
            out.append(f"{m[3]}-{int(month):02d}-{int(day):02d}")
        else:
            out.append(value)
    return out


def ambiguous_date(value: str) -> bool:
    """A slashed date whose day and month could be either way round (03/04/2026)."""
    m = _SLASHED.match(value)
    return bool(m) and int(m[1]) <= 12 and int(m[2]) <= 12
