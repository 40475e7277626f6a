"""DATA files for ``verify`` and ``doctor``: CSV or Parquet read in chunks; the columns read as text."""

from __future__ import annotations

import pathlib
from collections.abc import Iterator
from typing import Any

import pandas as pd

from ..errors import FileFormatError
from ..inputs import keras_input_name
from ..io import quote_error

_KINDS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


class DataFile:
    """A CSV (with a header row) or Parquet file, read in chunks so files larger than memory work."""

    def __init__(self, path: str) -> None:
        self.path = pathlib.Path(path)
        if not self.path.exists():
            raise FileFormatError(f"DATA {path!r} does not exist. Check the path.")
        if self.path.is_dir():
            raise FileFormatError(f"DATA {path!r} is a directory; expected a .csv or .parquet file.")
        self.kind = _KINDS.get(self.path.suffix.lower())
        if self.kind is None:
            raise FileFormatError(
                f"DATA {path!r} has suffix {self.path.suffix!r}; expected .csv (with a header row) "
                "or .parquet. Convert the file, or rename it if it is one of these."
            )
        self.size = self.path.stat().st_size
        self.columns = self._read_columns()

    @property
    def where(self) -> str:
        """The subject of a message about this file: ``DATA 'x.csv'``."""
        return f"DATA {str(self.path)!r}"

    def _fail(self, exc: BaseException) -> FileFormatError:
        return FileFormatError(f"{self.where} could not be read as {self.kind.upper()} ({quote_error(exc)}).")

    def _read_columns(self) -> list[str]:
        try:
            if self.kind == "csv":
                return [str(c) for c in pd.read_csv(self.path, nrows=0).columns]
            import pyarrow.parquet as pq

            self._parquet = pq.ParquetFile(self.path)
            return list(self._parquet.schema_arrow.names)
        except (OSError, ValueError, UnicodeDecodeError) as exc:  # pandas/pyarrow parse errors
            raise self._fail(exc) from exc

    @property
    def progress_total(self) -> tuple[int, str]:
        """The total of the progress bar and its unit: bytes for CSV, rows for Parquet."""
        if self.kind == "csv":
            return self.size, "B"
        return self._parquet.metadata.num_rows, "rows"

    def chunks(
        self, columns: list[str] | None, chunk_rows: int, text: list[str]
    ) -> Iterator[tuple[Any, int]]:
        """Yield ``(DataFrame chunk, progress made)``.

        ``columns=None`` reads all columns, in file order; CSV columns in ``text`` are read
        as text (missing as NaN) rather than parsed as numbers.
        """
        if self.kind == "csv":
            yield from self._csv_chunks(columns, chunk_rows, text)
        else:
            yield from self._parquet_chunks(columns, chunk_rows)

    def first_chunk(self, columns: list[str] | None, rows: int, text: list[str]) -> Any:
        """The first ``rows`` rows (a DataFrame, maybe empty), or None for a file without any."""
        chunks = self.chunks(columns, rows, text)
        try:
            return next((chunk for chunk, _ in chunks), None)
        finally:
            chunks.close()  # only the first chunk is read: release the file now

    def _csv_chunks(self, columns, chunk_rows, text):
        with open(self.path, "rb") as handle:
            dtype = dict.fromkeys(text, object) or None
            reader = pd.read_csv(handle, chunksize=chunk_rows, usecols=columns, dtype=dtype)
            done = 0
            while True:
                try:
                    chunk = next(reader)
                except StopIteration:
                    return
                except (ValueError, UnicodeDecodeError) as exc:  # pandas.errors.ParserError is a ValueError
                    raise self._fail(exc) from exc
                position = handle.tell()
                yield chunk, position - done
                done = position

    def _parquet_chunks(self, columns, chunk_rows):
        try:
            for batch in self._parquet.iter_batches(batch_size=chunk_rows, columns=columns):
                yield batch.to_pandas(), batch.num_rows
        except (OSError, ValueError) as exc:  # pyarrow.ArrowInvalid is a ValueError
            raise self._fail(exc) from exc


def text_columns(layout: Any, preprocessor: Any, data: DataFile) -> list[str]:
    """DATA columns that feed string inputs of ``layout``: read as text, so "007" stays "007"."""
    string_inputs = {t.name for t in layout.inputs if t.dtype == "string"}
    if not string_inputs:
        return []
    names = getattr(preprocessor, "feature_names_in_", None)
    if names is None:  # fitted on an array: its one input is all text
        return list(data.columns)
    return [str(c) for c in names if keras_input_name(c) in string_inputs]
