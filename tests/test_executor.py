"""Executors: results in the order of the items, wherever they run; options checked."""

from __future__ import annotations

import sys

import pytest

from planner.errors import PlanError
from planner.run.executor import Executor, executor


def test_in_process_and_local_processes_keep_order():
    items = [-3, 2, -1, 0, 5]
    with executor(workers=1) as here:
        assert type(here) is Executor
        assert here.map(abs, items) == [3, 2, 1, 0, 5]
    with executor(workers=2) as pool:
        assert pool.map(abs, items) == [3, 2, 1, 0, 5]
    with pytest.raises(RuntimeError, match="shutdown"):  # the context shut the pool down
        pool.map(abs, items)


def test_options_checked(monkeypatch):
    with pytest.raises(PlanError, match="--workers: expected a number of workers >= 1"):
        executor(workers=0)
    with pytest.raises(PlanError, match="--workers: a Ray cluster runs as many tasks"):
        executor(workers=2, ray="ray://head:10001")
    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed
    with pytest.raises(PlanError, match=r"--ray: Ray is not installed.*pip install "
                                        r"'inference-capacity-planner\[ray\]'"):
        executor(ray=True)
