"""A linear program held as arrays: labelled blocks of variables and of constraints.

Like linopy, each block is a table (one row per variable or constraint, its label columns
naming what it stands for) with ids handed out in one go; constraints are added as sparse
triplets. The solver layer receives the whole matrix at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp


def _cat(parts: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros(0)


@dataclass
class Block:
    labels: pd.DataFrame  # one row per variable / constraint
    start: int

    @property
    def ids(self) -> np.ndarray:
        return np.arange(self.start, self.start + len(self.labels))


@dataclass
class LinearModel:
    """min cost @ x  s.t.  row_lower <= A x <= row_upper,  lower <= x <= upper."""

    variables: dict[str, Block] = field(default_factory=dict)
    constraints: dict[str, Block] = field(default_factory=dict)
    _cost: list[np.ndarray] = field(default_factory=list)
    _upper: list[np.ndarray] = field(default_factory=list)
    _integer: list[np.ndarray] = field(default_factory=list)
    _row_lower: list[np.ndarray] = field(default_factory=list)
    _row_upper: list[np.ndarray] = field(default_factory=list)
    _triplets: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=list)
    n_cols: int = 0
    n_rows: int = 0

    def add_variables(self, name: str, labels: pd.DataFrame, cost, upper=np.inf,
                      integer: bool = False) -> np.ndarray:
        """Non-negative variables, one per row of `labels`; returns their column ids."""
        n = len(labels)
        self.variables[name] = Block(labels.reset_index(drop=True), self.n_cols)
        self._cost.append(np.broadcast_to(np.asarray(cost, dtype=float), n))
        self._upper.append(np.broadcast_to(np.asarray(upper, dtype=float), n))
        self._integer.append(np.full(n, integer))
        self.n_cols += n
        return self.variables[name].ids

    def add_constraints(self, name: str, labels: pd.DataFrame, rows, cols, coefs,
                        lower=-np.inf, upper=np.inf) -> None:
        """Rows `lower <= sum coefs * x[cols] <= upper`; `rows` index into `labels`."""
        n = len(labels)
        if n == 0:
            return
        self.constraints[name] = Block(labels.reset_index(drop=True), self.n_rows)
        self._row_lower.append(np.broadcast_to(np.asarray(lower, dtype=float), n))
        self._row_upper.append(np.broadcast_to(np.asarray(upper, dtype=float), n))
        self._triplets.append((np.asarray(rows, dtype=np.int64) + self.n_rows,
                               np.asarray(cols, dtype=np.int64),
                               np.broadcast_to(np.asarray(coefs, dtype=float), len(rows))))
        self.n_rows += n

    @property
    def cost(self) -> np.ndarray:
        return _cat(self._cost)

    @property
    def row_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        return _cat(self._row_lower), _cat(self._row_upper)

    @property
    def upper(self) -> np.ndarray:
        return _cat(self._upper)

    def column_labels(self, column: str, missing: int = -1) -> np.ndarray:
        """One label column over all variables (`missing` where a block lacks it)."""
        return np.concatenate([b.labels[column].to_numpy() if column in b.labels
                               else np.full(len(b.labels), missing)
                               for b in self.variables.values()] or [np.zeros(0, int)])

    def arrays(self) -> dict[str, np.ndarray]:
        """cost, lower, upper, integer, row_lower, row_upper and the CSC matrix A."""
        rows, cols, vals = (_cat([t[i] for t in self._triplets]) for i in range(3))
        matrix = sp.csc_array((vals, (rows.astype(np.int64), cols.astype(np.int64))),
                              shape=(self.n_rows, self.n_cols))
        matrix.sum_duplicates()
        row_lower, row_upper = self.row_bounds
        return {"cost": self.cost, "lower": np.zeros(self.n_cols), "upper": self.upper,
                "integer": _cat(self._integer).astype(bool), "row_lower": row_lower,
                "row_upper": row_upper, "A": matrix}

    def append(self, other: LinearModel, tag: str) -> tuple[int, int]:
        """Append `other`'s variables and rows (block names get `@tag`), sharing nothing:
        returns the (column, row) offsets of its variables and rows here."""
        cols, rows = self.n_cols, self.n_rows
        for name, block in other.variables.items():
            self.variables[f"{name}@{tag}"] = Block(block.labels, block.start + cols)
        for name, block in other.constraints.items():
            self.constraints[f"{name}@{tag}"] = Block(block.labels, block.start + rows)
        self._cost += other._cost
        self._upper += other._upper
        self._integer += other._integer
        self._row_lower += other._row_lower
        self._row_upper += other._row_upper
        self._triplets += [(r + rows, c + cols, v) for r, c, v in other._triplets]
        self.n_cols += other.n_cols
        self.n_rows += other.n_rows
        return cols, rows

    def values(self, name: str, x: np.ndarray) -> pd.DataFrame:
        """The labels of variable block `name` with its solution values in `value`."""
        block = self.variables[name]
        return block.labels.assign(value=x[block.ids])
