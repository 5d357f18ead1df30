"""A worker process of :class:`oms_sourcing.allocation._parallel.Solvers`.

Run as ``python -m oms_sourcing.allocation._worker``: it reads pickled ``(function, items)``
requests from standard input and writes ``("ok", function(items))`` or ``("error",
traceback)`` for each to what was standard output; anything a library prints goes to standard
error instead, so it cannot corrupt the answers. It stops at the end of its input.
"""

from __future__ import annotations

import os
import pickle
import sys
import traceback


def serve() -> None:
    # what the requests need, imported now: the parent starts workers ahead of their first
    # batch, so this happens while it builds the problems
    import oms_sourcing.allocation._parallel  # noqa: F401

    requests = sys.stdin.buffer
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    while True:
        try:
            fn, items = pickle.load(requests)
        except EOFError:
            return
        try:
            answer: tuple[str, object] = ("ok", fn(items))
        except Exception:    # reported to the parent, which raises it there
            answer = ("error", traceback.format_exc())
        pickle.dump(answer, answers, protocol=pickle.HIGHEST_PROTOCOL)
        answers.flush()


if __name__ == "__main__":
    serve()
