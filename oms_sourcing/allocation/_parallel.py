"""Orders solved alone, spread over processes.

A wave solves thousands of orders on their own (each order's optimum; column generation's
pricing). Those solves are independent and deterministic, so :class:`Solvers` cuts them into
batches that whichever process is free takes (a :class:`Stream`; items can be added while the
workers already solve the first) and answers in input order: the same answers in any number
of processes. The calling process takes batches too, so ``workers=2`` starts one extra
process.

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
from collections import deque
from collections.abc import Callable, Sequence
from functools import partial
from queue import SimpleQueue
from types import TracebackType
from typing import Any, Generic, TypeVar, cast

import numpy as np

from oms_sourcing.allocation.allocate import OptimalSolver, SolverConfig
from oms_sourcing.allocation.exact import solve_exact
from oms_sourcing.allocation.problem import AllocationProblem, Plan
from oms_sourcing.errors import OmsSourcingError

__all__ = ["Solvers", "Stream", "solve_alone", "solve_plan"]

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
    or by :meth:`start`, stopped by :meth:`close` or on leaving a ``with`` block).

    One :class:`Stream` at a time uses the workers: starting another (or closing) first
    abandons one whose results were not taken, stopping the workers it was feeding.
    """

    def __init__(self, workers: int = 1) -> None:
        self.workers = workers
        self._pool: list[_Worker] = []
        self._stream: Stream[Any] | None = None

    def __enter__(self) -> Solvers:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        # leaving on an error: a worker may be blocked writing an answer no one will read
        self.close(kill=kind is not None)

    def start(self) -> list[_Worker]:
        """Start the worker processes now (they take a moment to import), if there are any."""
        if self.workers > 1 and not self._pool:
            self._pool = [_Worker() for _ in range(self.workers - 1)]
        return self._pool

    def close(self, kill: bool = False) -> None:
        """Stop the workers: at the end of their input, or at once (``kill``; always when a
        stream's results were not taken)."""
        self._abandon()
        pool, self._pool = self._pool, []
        for worker in pool:
            worker.close(kill)

    def _kill(self) -> None:
        pool, self._pool = self._pool, []
        for worker in pool:
            worker.close(kill=True)

    def _abandon(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            stream.abandon()

    def map(self, fn: Callable[[Any], T], items: Sequence[Any]) -> list[T]:
        """``[fn(item) for item in items]``, shared with the workers; ``fn`` must be a module
        function (or a ``functools.partial`` of one) for them to receive it."""
        each = partial(_each, fn)
        return self._run(items, each, each, _same)

    def stream(self, fn: Callable[[Any], T], expected: int) -> Stream[T]:
        """A :class:`Stream` of ``fn`` over items given one by one: the workers solve them
        while this process goes on (building the next), and it joins in at the end. Fewer
        than :data:`MIN_BATCH` ``expected`` items are all solved here."""
        each = partial(_each, fn)
        return self._open(each, each, _same, MIN_BATCH, expected >= MIN_BATCH)

    def alone(self, problems: Sequence[AllocationProblem],
              uppers: Sequence[int | None] | None = None) -> list[tuple[int, np.ndarray]]:
        """:func:`solve_alone` for each of ``problems`` (with the known plan's objective in
        ``uppers``, if given), in order."""
        tasks = list(zip(problems, uppers or [None] * len(problems), strict=True))
        return self._run(tasks, _alone, _alone_packed, _unpack)

    def _run(self, items: Sequence[Any], here: Callable[[list[Any]], list[T]],
             there: Callable[[list[Any]], list[Any]], unpack: Callable[[Any], T]
             ) -> list[T]:
        if len(items) < MIN_BATCH or self.workers < 2:
            self._abandon()
            return here(list(items))
        stream = self._open(here, there, unpack, _chunk(len(items), self.workers), True)
        stream.put_all(items)
        return stream.results()

    def _open(self, here: Callable[[list[Any]], list[T]],
              there: Callable[[list[Any]], list[Any]], unpack: Callable[[Any], T],
              chunk: int, workers: bool) -> Stream[T]:
        self._abandon()
        stream = Stream(self, here, there, unpack, chunk, workers)
        self._stream = stream
        return stream


def _same(answer: T) -> T:
    return answer


def _chunk(n: int, processes: int) -> int:
    """Items per batch: a few batches per process (so whoever is free takes the next: the
    processes end together), but not so small that sending them costs more."""
    return max(8, min(MIN_BATCH, n // (4 * processes)))


#: Batches a worker holds at once: the one it solves and the next, already in its pipe.
_AHEAD = 2


class Stream(Generic[T]):
    """Items solved in batches by whichever process is free (made by :meth:`Solvers.stream`).

    Each worker has a thread that sends it the next batch while it solves one (at most
    :data:`_AHEAD` at a time) and a thread that reads its answers; this process solves the
    batches still waiting when it calls :meth:`results`. Answers are in the order the items
    were put, whoever solved them, so the same as in one process. A stream whose results are
    not taken is abandoned when its :class:`Solvers` starts another or closes.
    """

    def __init__(self, solvers: Solvers, here: Callable[[list[Any]], list[T]],
                 there: Callable[[list[Any]], list[Any]], unpack: Callable[[Any], T],
                 chunk: int = MIN_BATCH, workers: bool = True) -> None:
        self.solvers = solvers
        self.here, self.there, self.unpack = here, there, unpack
        self.chunk = chunk
        self.items: list[Any] = []
        self.answers: list[Any] = []
        self.waiting: deque[tuple[int, int]] = deque()     # batches not yet taken
        self.queued = 0     # items in batches so far
        self.done = threading.Condition()
        self.closed = False
        self.finished = False
        self.failed: list[BaseException] = []
        self.started = time.perf_counter()
        self.solved_here = 0
        self.threads: list[threading.Thread] = []
        pool = solvers.start() if workers else []
        if pool:
            try:
                pickle.dumps(there)
            except Exception as error:
                raise OmsSourcingError(
                    f"cannot send {there!r} to a worker process: solve with a module "
                    "function (or a functools.partial of one), not a lambda or a local "
                    "function") from error
        for worker in pool:
            slots = threading.Semaphore(_AHEAD)
            sent: SimpleQueue[tuple[int, int] | None] = SimpleQueue()
            self.threads += [
                threading.Thread(target=self._send, args=(worker, slots, sent), daemon=True),
                threading.Thread(target=self._receive, args=(worker, slots, sent),
                                 daemon=True)]
        self.running = len(self.threads)
        for thread in self.threads:
            thread.start()

    def put(self, item: Any) -> None:
        """Add one item; a full batch goes to the first process free."""
        if self.finished:
            raise OmsSourcingError("this stream's results were taken (or it was abandoned): "
                                   "put the items into a new Solvers.stream()")
        self.items.append(item)
        self.answers.append(None)
        if len(self.items) - self.queued >= self.chunk:
            self._queue(len(self.items))

    def put_all(self, items: Sequence[Any]) -> None:
        for item in items:
            self.put(item)

    def _queue(self, end: int) -> None:
        with self.done:
            for start in range(self.queued, end, self.chunk):
                self.waiting.append((start, min(start + self.chunk, end)))
            self.queued = end
            self.done.notify_all()

    def _take(self) -> tuple[int, int] | None:
        """The next waiting batch, waiting for one unless the stream is closed."""
        with self.done:
            while not self.waiting and not self.closed and not self.failed:
                self.done.wait()
            if self.failed or not self.waiting:
                return None
            return self.waiting.popleft()

    def _send(self, worker: _Worker, slots: threading.Semaphore,
              sent: SimpleQueue[tuple[int, int] | None]) -> None:
        try:
            while True:
                slots.acquire()
                batch = self._take()
                if batch is None:
                    return
                start, end = batch
                worker.send(self.there, self.items[start:end])
                sent.put(batch)
        except BaseException as error:  # re-raised by results(), in the caller's thread
            self._fail(error)
        finally:
            sent.put(None)
            self._end()

    def _receive(self, worker: _Worker, slots: threading.Semaphore,
                 sent: SimpleQueue[tuple[int, int] | None]) -> None:
        try:
            while (batch := sent.get()) is not None:
                start, end = batch
                answers = worker.receive()
                if len(answers) != end - start:
                    raise OmsSourcingError(f"wave worker process {worker.process.pid} sent "
                                           f"{len(answers)} answers for {end - start} items")
                self.answers[start:end] = [self.unpack(a) for a in answers]
                slots.release()
        except BaseException as error:
            self._fail(error)
            slots.release()
        finally:
            self._end()

    def _end(self) -> None:
        with self.done:
            self.running -= 1
            self.done.notify_all()

    def _fail(self, error: BaseException) -> None:
        with self.done:
            self.failed.append(error)
            self.done.notify_all()

    def _help(self) -> None:
        """Solve the batches waiting, here."""
        while True:
            with self.done:
                if not self.waiting or self.failed:
                    return
                start, end = self.waiting.popleft()
            self.answers[start:end] = self.here(self.items[start:end])
            self.solved_here += end - start

    def results(self) -> list[T]:
        """Every item's answer, in order (this process solves what is still waiting)."""
        if self.finished:
            if self.failed:
                raise self.failed[0]
            return cast(list[T], self.answers)
        try:
            self._queue(len(self.items))
            waited = time.perf_counter()
            self._help()
            with self.done:
                self.closed = True
                self.done.notify_all()
                while self.running and not self.failed:
                    self.done.wait()
            if self.failed:
                raise self.failed[0]
        except BaseException as error:
            if error not in self.failed:
                self.failed.append(error)
            self.abandon()
            raise
        self._finish()
        logger.debug("%d solves in %d processes, %d here; %.2f s from the first, %.2f s "
                     "from the last put", len(self.items), len(self.threads) // 2 + 1,
                     self.solved_here, time.perf_counter() - self.started,
                     time.perf_counter() - waited)
        return cast(list[T], self.answers)

    def abandon(self) -> None:
        """Stop without the results: the workers are stopped (one may be solving a batch, or
        blocked writing an answer no one will read) and start afresh on next use."""
        if self.finished:
            return
        with self.done:
            self.closed = True
            self.done.notify_all()
        if self.threads:
            self.solvers._kill()
        self._finish()

    def _finish(self) -> None:
        for thread in self.threads:
            thread.join()
        self.finished = True
        if self.solvers._stream is self:
            self.solvers._stream = None
