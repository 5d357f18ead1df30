"""Orders solved alone, spread over processes.

A wave solves thousands of orders on their own (each order's optimum; column generation's
pricing). Those solves are independent and deterministic, so :class:`Solvers` hands part of
each batch to worker processes and answers in input order: the same answers in any number of
processes. The calling process solves its own share meanwhile, so ``workers=2`` starts one
extra process.

Workers are plain ``python -m oms_sourcing.allocation._worker`` processes (this interpreter,
this ``sys.path``) fed pickled batches through a pipe, not ``multiprocessing``: nothing of the
caller is copied or re-imported (no ``if __name__ == "__main__":`` guard needed, no threads of
solver libraries forked), and a worker that fails reports its traceback.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from functools import partial
from types import TracebackType
from typing import Any, TypeVar, cast

import numpy as np

from oms_sourcing.allocation.allocate import OptimalSolver, SolverConfig
from oms_sourcing.allocation.exact import solve_exact
from oms_sourcing.allocation.problem import AllocationProblem, Plan
from oms_sourcing.errors import OmsSourcingError

__all__ = ["Solvers", "solve_alone", "solve_plan"]

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: Fewest solves worth sending to other processes (pickling and start-up cost the rest).
MIN_BATCH = 64


def solve_plan(config: SolverConfig, problem: AllocationProblem) -> tuple[Plan, float]:
    """The per-order solver's plan, as :func:`~oms_sourcing.allocation.allocate.allocate` finds
    it for an order without ranks, and the milliseconds it took."""
    start = time.perf_counter()
    plan = OptimalSolver(config).solve(problem)
    return plan, (time.perf_counter() - start) * 1000


def solve_alone(problem: AllocationProblem, upper: int | None = None
                ) -> tuple[int, np.ndarray]:
    """An order's optimum and its quantities (or CP-SAT's bound and plan, if the fast path
    gives up): the value is a lower bound on every plan of ``problem``. ``upper``: the
    objective of a known plan of ``problem``, if any (see :func:`solve_exact`)."""
    from oms_sourcing.allocation.cpsat import solve_cpsat

    plan = solve_exact(problem, upper=upper)
    if plan is None:
        plan = solve_cpsat(problem)
        return plan.bound, np.asarray(plan.x)
    return plan.objective, np.asarray(plan.x)


_Packed = tuple[int, tuple[int, ...], np.ndarray, np.ndarray]


def _alone(tasks: list[tuple[AllocationProblem, int | None]]) -> list[tuple[int, np.ndarray]]:
    return [solve_alone(p, upper) for p, upper in tasks]


def _alone_packed(tasks: list[tuple[AllocationProblem, int | None]]) -> list[_Packed]:
    """:func:`solve_alone` for each task, quantities sent back sparse (most are zero)."""
    out = []
    for p, upper in tasks:
        value, x = solve_alone(p, upper)
        flat = np.flatnonzero(x)
        out.append((value, x.shape, flat, x.reshape(-1)[flat]))
    return out


def _unpack(packed: _Packed) -> tuple[int, np.ndarray]:
    value, shape, flat, units = packed
    x = np.zeros(shape, dtype=np.int64)
    x.reshape(-1)[flat] = units
    return value, x


def _each(fn: Callable[[Any], T], items: list[Any]) -> list[T]:
    return [fn(item) for item in items]


class _Worker:
    """One worker process and its pipe."""

    def __init__(self) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(path or os.getcwd() for path in sys.path)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "oms_sourcing.allocation._worker"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)

    def send(self, fn: Callable[[list[Any]], list[Any]], items: list[Any]) -> None:
        stdin = self.process.stdin
        if stdin is None:  # pragma: no cover - Popen was given a pipe
            raise OmsSourcingError("wave worker process has no input pipe")
        try:
            pickle.dump((fn, items), stdin, protocol=pickle.HIGHEST_PROTOCOL)
            stdin.flush()
        except OSError as error:    # the pipe broke: the worker is gone
            raise self._exited() from error

    def _exited(self) -> OmsSourcingError:
        return OmsSourcingError(
            f"wave worker process {self.process.pid} exited (code {self.process.wait()}); "
            "run with WaveConfig(workers=1) to solve in this process")

    def receive(self) -> list[Any]:
        stdout = self.process.stdout
        try:
            status, payload = pickle.load(stdout) if stdout is not None else ("error", "")
        except EOFError:
            raise self._exited() from None
        if status != "ok":
            raise OmsSourcingError(f"wave worker process failed:\n{payload}")
        return cast(list[Any], payload)

    def close(self, kill: bool = False) -> None:
        """Stop the worker: at the end of its input, or at once (``kill``: it may be blocked
        writing an answer no one will read)."""
        if kill:
            self.process.kill()
        if self.process.stdin is not None:
            # a dead worker's pipe cannot take the unsent rest, which is moot anyway
            with contextlib.suppress(OSError):
                self.process.stdin.close()
        self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


class Solvers:
    """Solves orders alone in this process and ``workers - 1`` others (started on first use
    or by :meth:`start`, stopped by :meth:`close` or on leaving a ``with`` block)."""

    def __init__(self, workers: int = 1) -> None:
        self.workers = workers
        self._pool: list[_Worker] = []

    def __enter__(self) -> Solvers:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()

    def start(self) -> list[_Worker]:
        """Start the worker processes now (they take a moment to import), if there are any."""
        if self.workers > 1 and not self._pool:
            self._pool = [_Worker() for _ in range(self.workers - 1)]
        return self._pool

    def close(self, kill: bool = False) -> None:
        pool, self._pool = self._pool, []
        for worker in pool:
            worker.close(kill)

    def map(self, fn: Callable[[Any], T], items: Sequence[Any]) -> list[T]:
        """``[fn(item) for item in items]``, shared with the workers; ``fn`` must be a module
        function (or a ``functools.partial`` of one) for them to receive it."""
        each = partial(_each, fn)
        return self._spread(items, each, each, lambda answer: answer)

    def alone(self, problems: Sequence[AllocationProblem],
              uppers: Sequence[int | None] | None = None) -> list[tuple[int, np.ndarray]]:
        """:func:`solve_alone` for each of ``problems`` (with the known plan's objective in
        ``uppers``, if given), in order."""
        tasks = list(zip(problems, uppers or [None] * len(problems), strict=True))
        return self._spread(tasks, _alone, _alone_packed, _unpack)

    def _spread(self, items: Sequence[Any], here: Callable[[list[Any]], list[T]],
                there: Callable[[list[Any]], list[Any]], unpack: Callable[[Any], T]
                ) -> list[T]:
        """``here(items)``, with every ``workers``-th item from the second on sent to a
        worker as ``there`` (whose answers ``unpack`` turns into ``here``'s)."""
        pool = self.start() if len(items) >= MIN_BATCH else []
        if not pool:
            return here(list(items))
        parts = [list(items[w::self.workers]) for w in range(self.workers)]
        # the batches are written from threads (the pipe waits for the worker to read them)
        # while this process solves its own share
        failed: list[BaseException] = []

        def send(worker: _Worker, part: list[Any]) -> None:
            try:
                worker.send(there, part)
            except BaseException as error:  # re-raised below, in the caller's thread
                failed.append(error)

        senders = [threading.Thread(target=send, args=(worker, part), daemon=True)
                   for worker, part in zip(pool, parts[1:], strict=True)]
        try:
            for sender in senders:
                sender.start()
            started = time.perf_counter()
            mine = here(parts[0])
            solved = time.perf_counter()
            for sender in senders:
                sender.join()
            if failed:
                raise failed[0]
            answers = [mine, *([unpack(a) for a in worker.receive()] for worker in pool)]
            logger.debug("%d solves in %d processes: %.2f s here, then %.2f s for the others",
                         len(items), self.workers, solved - started,
                         time.perf_counter() - solved)
        except BaseException:
            self.close(kill=True)   # a worker may hold an unread answer: start afresh next time
            raise
        out: list[Any] = [None] * len(items)
        for w, answer in enumerate(answers):
            out[w::self.workers] = answer
        return cast(list[T], out)
