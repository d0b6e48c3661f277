"""Layer files: `convcalc shape @layers.txt`.

The file is read as UTF-8 (a byte-order mark is skipped); anything else — Latin-1,
UTF-16, a binary file, a directory, a file larger than any printed model — is refused in
one line that says what was expected and what was found, before any of it is parsed.
"""

from __future__ import annotations

import os
import stat

from ..errors import ConvcalcError, Location
from .pasted import Pasted, read_pasted

#: print(model) of a model with 10,000 layers is about 1 MB; anything far larger is not
#: a layer file, and reading it would only make the user wait.
MAX_BYTES = 8 * 2**20

_BOMS = ((b"\xef\xbb\xbf", None), (b"\xff\xfe\x00\x00", "UTF-32"), (b"\x00\x00\xfe\xff", "UTF-32"),
         (b"\xff\xfe", "UTF-16"), (b"\xfe\xff", "UTF-16"))


def read_layer_file(path: str) -> list[Pasted]:
    """The named layer calls of a file (see `parsing.pasted` for what it may hold)."""
    found = read_pasted(read_text_file(path), shown_path(path))
    if not found:
        raise ConvcalcError("no layers in the file: expected layer expressions, nn.Sequential "
                            "code or print(model) text", Location(shown_path(path)))
    return found


def read_text_file(path: str, limit: int = MAX_BYTES) -> str:
    """The text of a UTF-8 file, or ConvcalcError: `<path>: expected ...; got ...`."""
    where = Location(shown_path(path))
    return decode(read_bounded(path, "a layer file", "layer file", where, limit), where)


def read_bounded(path: str, what: str, reading: str, where: Location, limit: int, stdin: bool = False) -> bytes:
    """At most `limit` bytes of a file (of standard input for `-` when `stdin`), refused as
    `what` when it is a directory or larger: a pipe or a device may never end, so the read
    itself is bounded."""
    import sys
    try:
        if stdin and path == "-":
            data = sys.stdin.buffer.read(limit + 1)
        else:
            info = os.stat(path)
            if stat.S_ISDIR(info.st_mode):
                raise ConvcalcError(f"expected {what}; got a directory", where)
            if stat.S_ISREG(info.st_mode) and info.st_size > limit:
                raise ConvcalcError(f"expected {what} of at most {_mib(limit)}; got {_mib(info.st_size)}", where)
            with open(path, "rb") as handle:
                data = handle.read(limit + 1)
    except OSError as exc:
        raise ConvcalcError(f"cannot read {reading}: {exc.strerror or exc}", where) from None
    if len(data) > limit:
        raise ConvcalcError(f"expected {what} of at most {_mib(limit)}; got more", where)
    return data


def decode(data: bytes, where: Location) -> str:
    """UTF-8 text without its byte-order mark; refuse other encodings and binary data."""
    for mark, encoding in _BOMS:
        if data.startswith(mark):
            if encoding is None:
                data = data[len(mark):]
                break
            raise ConvcalcError(f"expected UTF-8 text; got {encoding} (it starts with a "
                                f"{encoding} byte-order mark): save the file as UTF-8", where)
    nul = data.find(b"\x00")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if 0 <= nul < exc.start:
            raise _binary(data, nul, where) from None
        line = data.count(b"\n", 0, exc.start) + 1
        raise ConvcalcError(f"expected UTF-8 text; got byte 0x{data[exc.start]:02x} at offset "
                            f"{exc.start} (Latin-1 or another 8-bit encoding?)",
                            Location(where.source, line)) from None
    if nul >= 0:
        raise _binary(data, nul, where)
    return text


def _binary(data: bytes, nul: int, where: Location) -> ConvcalcError:
    # UTF-16 text without a byte-order mark has a NUL beside every ASCII character
    guess = "UTF-16 text without a byte-order mark?" if _looks_utf16(data) else "a binary file?"
    return ConvcalcError(f"expected UTF-8 text; got byte 0x00 at offset {nul} ({guess})", where)


def _looks_utf16(data: bytes) -> bool:
    head = data[:200]
    evens, odds = head[0::2], head[1::2]
    return len(head) >= 4 and (evens.count(0) == len(evens) or odds.count(0) == len(odds))


def _mib(size: int) -> str:
    return f"{size / 2**20:.1f} MiB"


def shown_path(path: str, stdin: bool = False) -> str:
    """The path as it can be printed (argv bytes that are not UTF-8 come as surrogates);
    with `stdin`, `-` is standard input."""
    if stdin and path == "-":
        return "<stdin>"
    try:
        return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:
        return path.encode("utf-8", "backslashreplace").decode("utf-8")
