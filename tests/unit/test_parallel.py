"""Orders solved in worker processes: answers in input order, failures reported with the
worker's traceback, and the workers stopped afterwards."""

from __future__ import annotations

import pytest

from oms_sourcing.allocation._parallel import MIN_BATCH, Solvers
from oms_sourcing.errors import OmsSourcingError


def test_two_processes_answer_in_input_order() -> None:
    texts = [str(n) for n in range(MIN_BATCH * 2 + 1)]
    with Solvers(2) as solvers:
        assert solvers.map(int, texts) == list(range(len(texts)))
        assert solvers.map(int, texts[:3]) == [0, 1, 2]    # small batches stay here


def test_a_failure_in_a_worker_names_its_error_and_the_workers_stop() -> None:
    texts = [str(n) for n in range(MIN_BATCH)] + ["seven"]
    texts[1], texts[-1] = texts[-1], texts[1]     # the odd positions go to the worker
    solvers = Solvers(2)
    with pytest.raises(OmsSourcingError, match="invalid literal for int"):
        solvers.map(int, texts)
    assert solvers.start()     # the broken pool was dropped: a fresh one starts
    assert solvers.map(int, [str(n) for n in range(MIN_BATCH)]) == list(range(MIN_BATCH))
    solvers.close()


def test_a_worker_that_died_is_reported_not_waited_for() -> None:
    texts = [str(n) for n in range(MIN_BATCH)]
    with Solvers(2) as solvers:
        for worker in solvers.start():
            worker.process.kill()
            worker.process.wait()
        with pytest.raises(OmsSourcingError, match="exited"):
            solvers.map(int, texts)
        assert solvers.map(int, texts) == list(range(MIN_BATCH))    # a fresh worker
