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
from typing import BinaryIO


def serve() -> None:
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)   # before any import can print: only answers go to the parent
    # what the requests need, imported now: the parent starts workers ahead of their first
    # batch, so this happens while it builds the problems
    import oms_sourcing.allocation._parallel  # noqa: F401

    requests = sys.stdin.buffer
    while True:
        try:
            fn, items = pickle.load(requests)
        except EOFError:
            return
        except Exception:   # the rest of the input cannot be read reliably: report, stop
            _answer(answers, ("error", "cannot read the request:\n" + traceback.format_exc()))
            return
        try:
            answer: tuple[str, object] = ("ok", fn(items))
        except Exception:    # reported to the parent, which raises it there
            answer = ("error", traceback.format_exc())
        _answer(answers, answer)


def _answer(out: BinaryIO, answer: tuple[str, object]) -> None:
    try:
        data = pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:   # an answer that cannot be sent is reported whole, not half-written
        data = pickle.dumps(("error", "cannot send the answer:\n" + traceback.format_exc()))
    out.write(data)
    out.flush()


if __name__ == "__main__":
    serve()
