"""Orders solved in worker processes: answers in input order whoever solved them, work shared
between the processes, failures reported with the worker's traceback, and the workers stopped
afterwards."""

from __future__ import annotations

import os
import time
from functools import partial
from typing import Any

import pytest

from oms_sourcing.allocation._parallel import MIN_BATCH, Solvers, Stream, _each
from oms_sourcing.errors import OmsSourcingError


def solved_by(pause: float) -> int:
    """The process that solved the item, after ``pause`` seconds of "work" (a module
    function: the worker imports it)."""
    time.sleep(pause)
    return os.getpid()


def test_two_processes_answer_in_input_order() -> None:
    texts = [str(n) for n in range(MIN_BATCH * 2 + 1)]
    with Solvers(2) as solvers:
        assert solvers.map(int, texts) == list(range(len(texts)))
        assert solvers.map(int, texts[:3]) == [0, 1, 2]    # small batches stay here


def taken_by_a_worker(stream: Stream[Any], batches: int) -> None:
    """Wait (up to 30 s, for a loaded machine) until a worker's thread took one of the
    ``batches`` queued, so the test does not depend on which thread runs first."""
    deadline = time.monotonic() + 30
    while len(stream.waiting) >= batches and not stream.failed and time.monotonic() < deadline:
        time.sleep(0.01)


def test_a_stream_is_solved_by_the_worker_while_this_process_goes_on() -> None:
    with Solvers(2) as solvers:
        stream = solvers.stream(solved_by, MIN_BATCH * 4)
        for _ in range(MIN_BATCH * 4):
            stream.put(0.001)
        taken_by_a_worker(stream, 4)
        pids = stream.results()
    assert len(pids) == MIN_BATCH * 4
    assert {pid for pid in pids if pid != os.getpid()}


def test_a_stream_in_one_process_solves_everything_here() -> None:
    with Solvers(1) as solvers:
        stream = solvers.stream(int, 3)
        stream.put_all(["3", "1", "2"])
        assert stream.results() == [3, 1, 2]
        with pytest.raises(OmsSourcingError, match=r"new Solvers\.stream"):
            stream.put("4")


def test_an_abandoned_stream_leaves_the_next_call_right() -> None:
    with Solvers(2) as solvers:
        stream = solvers.stream(solved_by, MIN_BATCH * 6)
        stream.put_all([0.002] * (MIN_BATCH * 6))
        taken_by_a_worker(stream, 6)
        # its results never taken: the workers it was feeding are stopped, fresh ones answer
        texts = [str(n) for n in range(MIN_BATCH * 8)]
        assert solvers.map(int, texts) == list(range(len(texts)))
        assert stream.finished


def test_a_function_the_workers_cannot_receive_is_refused() -> None:
    with Solvers(2) as solvers, pytest.raises(OmsSourcingError, match="module function"):
        solvers.map(lambda text: int(text), [str(n) for n in range(MIN_BATCH)])


def test_a_failure_in_a_worker_names_its_error() -> None:
    with Solvers(2) as solvers:
        [worker] = solvers.start()
        worker.send(partial(_each, int), ["seven"])
        with pytest.raises(OmsSourcingError, match="invalid literal for int"):
            worker.receive()


def test_a_failed_batch_stops_the_workers_and_the_next_call_starts_afresh() -> None:
    texts = ["seven"] * (MIN_BATCH * 2)     # every batch fails, here or in the worker
    solvers = Solvers(2)
    [first] = solvers.start()
    with pytest.raises((OmsSourcingError, ValueError), match="invalid literal for int"):
        solvers.map(int, texts)
    assert first.process.poll() is not None     # the broken pool was stopped
    assert solvers.map(int, [str(n) for n in range(MIN_BATCH)]) == list(range(MIN_BATCH))
    solvers.close()


def test_a_worker_that_died_is_reported_not_waited_for() -> None:
    with Solvers(2) as solvers:
        for worker in solvers.start():
            worker.process.kill()
            worker.process.wait()
        stream = solvers.stream(solved_by, MIN_BATCH * 4)
        stream.put_all([0.002] * (MIN_BATCH * 4))
        taken_by_a_worker(stream, 4)
        with pytest.raises(OmsSourcingError, match="exited"):
            stream.results()
        pauses = [0.002] * (MIN_BATCH * 4)
        assert len(solvers.map(solved_by, pauses)) == len(pauses)    # a fresh worker
