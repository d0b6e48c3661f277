"""What many test modules share: running the CLI in-process, the one-line error check,
and the traced peak memory of a run (rootdir-relative import: `from support import ...`)."""

from __future__ import annotations

import tracemalloc

from convcalc.cli import main


def cli(capsys, *argv) -> tuple[int, str, str]:
    """Exit status, stdout and stderr of `convcalc ARGV...` run in this process."""
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_error(err: str, *fragments: str) -> str:
    """The single `error: ...` line stderr must hold, containing every fragment."""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def traced_peak(fn) -> tuple[int, object]:
    """Peak bytes Python allocated while `fn()` ran, above what was held before, and its value.
    Kernel modules are loaded first: their import is not the run's memory."""
    from convcalc.numeric.kernels import load_all
    load_all()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        value = fn()
        return tracemalloc.get_traced_memory()[1] - base, value
    finally:
        tracemalloc.stop()
