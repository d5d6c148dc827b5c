"""Where independent tasks run: in this process, in local worker processes, or on Ray.

`executor(workers, ray)` picks one; `Executor.map(fn, items)` runs `fn` (a top-level,
picklable function of one item) on every item and returns the results in the order of the
items. Item i always runs on worker i mod the number of workers, map after map, so that a
worker may keep what it built for its items (decompose.py keeps each future's model there
between iterates: a future landing on another worker would be built again). As a context
manager an executor shuts down the processes, or the Ray it started.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import logging
import multiprocessing
import os
from collections.abc import Callable
from typing import TYPE_CHECKING

import planner
from planner.errors import PlanError

if TYPE_CHECKING:
    from typing_extensions import Self

BLAS_THREADS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
RAY_MISSING = ("Ray is not installed; it is an optional dependency: "
               "pip install 'inference-capacity-planner[ray]'")


class Executor:
    """In this process, one item after the other."""

    def map(self, fn: Callable, items: list) -> list:
        return [fn(item) for item in items]

    def close(self) -> None:
        """Shut down what this executor started."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


class _Processes(Executor):
    """Local worker processes, spawned fresh: each imports the planner itself and inherits
    no solver state or threads from this one. One pool of one process a worker, so that an
    item's worker is fixed."""

    def __init__(self, workers: int):
        context = multiprocessing.get_context("spawn")
        self.pools = [concurrent.futures.ProcessPoolExecutor(1, mp_context=context)
                      for _ in range(workers)]
        with _one_blas_thread():  # started now, with the environment they read at import
            for started in [pool.submit(os.getpid) for pool in self.pools]:
                started.result()

    def map(self, fn: Callable, items: list) -> list:
        done = [self.pools[i % len(self.pools)].submit(fn, item)
                for i, item in enumerate(items)]
        return [d.result() for d in done]

    def close(self) -> None:
        for pool in self.pools:
            pool.shutdown(cancel_futures=True)


@contextlib.contextmanager
def _one_blas_thread():
    """Workers' BLAS on one thread each, as Ray gives its workers: otherwise each worker's
    idle BLAS threads spin on the cores the other workers solve on (2 workers on 2 cores
    ran 1.16x faster than one instead of 1.8x)."""
    saved = {name: os.environ.get(name) for name in BLAS_THREADS}
    os.environ.update(dict.fromkeys(BLAS_THREADS, "1"))
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name)
            else:
                os.environ[name] = value


class _Ray(Executor):
    """Ray tasks of one CPU each, on the Ray this process is connected to when they start
    (its workers then need this planner), else on one it starts (`address` None:
    `ray.init()`, with `workers` CPUs) or the cluster at `address`. Ray is an optional
    dependency."""

    def __init__(self, address: str | None, workers: int | None):
        try:
            import ray
        except ImportError:
            raise PlanError(RAY_MISSING, path="--ray") from None
        self.ray, self.address, self.workers, self.started = ray, address, workers, False
        self.actors: list = []

    def map(self, fn: Callable, items: list) -> list:
        if not self.ray.is_initialized():
            where = {"address": self.address} if self.address else {
                "num_cpus": self.workers, "include_dashboard": False}
            # Its workers run this process's planner, shipped to them: not whichever
            # version, if any, is installed where they run.
            self.ray.init(**where, runtime_env={"py_modules": [planner]},
                          logging_level=logging.ERROR)
            self.started = True
        if not self.actors:  # one actor a CPU: a process each that keeps its items' state
            actor = self.ray.remote(num_cpus=1)(_Worker)
            cpus = int(self.ray.cluster_resources().get("CPU", 1))
            self.actors = [actor.remote() for _ in range(max(cpus, 1))]
        return self.ray.get([self.actors[i % len(self.actors)].run.remote(fn, item)
                             for i, item in enumerate(items)])

    def close(self) -> None:
        for actor in self.actors:
            self.ray.kill(actor)
        self.actors = []
        if self.started:
            self.ray.shutdown()
            self.started = False


class _Worker:
    """A Ray actor: runs the items given to it, in its own long-lived process."""

    def run(self, fn: Callable, item):
        return fn(item)


def executor(workers: int | None = None, ray: str | bool | None = None) -> Executor:
    """Local worker processes (`workers`, default one per CPU; 1: in this process), or Ray
    tasks with `ray` (True: a local Ray, started unless connected; a string: the address of
    a cluster to connect to, whose CPUs decide how many tasks run at once)."""
    if workers is not None and workers < 1:
        raise PlanError(f"expected a number of workers >= 1, got {workers}", path="--workers")
    if ray:
        if isinstance(ray, str) and workers is not None:
            raise PlanError("a Ray cluster runs as many tasks at once as it has CPUs; "
                            "--workers is for local processes or a local Ray", path="--workers")
        return _Ray(ray if isinstance(ray, str) else None, workers)
    workers = workers or os.cpu_count() or 1
    return Executor() if workers == 1 else _Processes(workers)
