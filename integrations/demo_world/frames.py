"""A minimal column table for the simulation: named numpy arrays of equal length.

pandas stacks same-typed columns into 2-D blocks and re-stacks them on every construction, sort
and concat; on six million orders that bookkeeping cost more than the simulation itself. The
simulation only needs column access, row selection, reordering and concatenation, so this class
does exactly that; the writers hand its columns to Arrow (zero-copy) for DuckDB.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

import numpy as np


class Table:
    """Equal-length numpy columns by name; scalars assigned to a column are broadcast."""

    __slots__ = ("_columns", "_rows")

    def __init__(self, columns: Mapping[str, np.ndarray | int | float | bool | str] | None = None) -> None:
        self._columns: dict[str, np.ndarray] = {}
        self._rows: int | None = None
        arrays = {name: value for name, value in (columns or {}).items() if np.ndim(value) > 0}
        if arrays:
            self._rows = len(next(iter(arrays.values())))
        for name, value in (columns or {}).items():
            self[name] = value

    def __len__(self) -> int:
        return self._rows or 0

    def __contains__(self, name: object) -> bool:
        return name in self._columns

    def __iter__(self) -> Iterator[str]:
        return iter(self._columns)

    def __getitem__(self, name: str) -> np.ndarray:
        return self._columns[name]

    def __setitem__(self, name: str, value: np.ndarray | int | float | bool | str) -> None:
        array = np.asarray(value)
        if array.ndim == 0:
            if self._rows is None:
                raise ValueError(f"cannot broadcast scalar column {name!r} into a table without rows")
            array = np.full(self._rows, array)
        elif self._rows is None:
            self._rows = len(array)
        elif len(array) != self._rows:
            raise ValueError(f"column {name!r} has {len(array)} rows, the table has {self._rows}")
        self._columns[name] = array

    @property
    def columns(self) -> list[str]:
        return list(self._columns)

    def take(self, index: np.ndarray) -> Table:
        """Rows at ``index`` (positions) or where ``index`` is True (a boolean mask)."""
        out = Table()
        out._rows = int(index.sum()) if index.dtype == bool else len(index)
        out._columns = {name: column[index] for name, column in self._columns.items()}
        return out

    def sorted_by(self, *keys: str | np.ndarray) -> Table:
        """Rows sorted by ``keys`` (column names or arrays; first most significant), stable."""
        arrays = [self[k] if isinstance(k, str) else k for k in keys]
        order = np.argsort(arrays[0], kind="stable") if len(arrays) == 1 else np.lexsort(tuple(reversed(arrays)))
        return self.take(order)

    def drop(self, *names: str) -> Table:
        out = Table()
        out._rows = self._rows
        out._columns = {name: column for name, column in self._columns.items() if name not in names}
        return out

    @staticmethod
    def concat(tables: Iterable[Table]) -> Table:
        """Row-wise concatenation; every table must have the same columns."""
        tables = list(tables)
        names = tables[0].columns
        return Table({name: np.concatenate([t[name] for t in tables]) for name in names})
