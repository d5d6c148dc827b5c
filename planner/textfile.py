"""The text files users write (scenarios, catalog tables): UTF-8 and bounded in size.

Every failure is a PlanError that says why, on the line where there is one, and never
echoes the bytes it could not read.
"""

from __future__ import annotations

import codecs
from pathlib import Path

from planner.errors import PlanError

MIB = 2**20
_WIDE = {codecs.BOM_UTF32_LE: "UTF-32", codecs.BOM_UTF32_BE: "UTF-32",
         codecs.BOM_UTF16_LE: "UTF-16", codecs.BOM_UTF16_BE: "UTF-16"}


def read_text(file: Path, what: str, max_bytes: int) -> str:
    """The text of `file` (a "scenario file", a "catalog table", ...), at most `max_bytes`."""
    try:
        with file.open("rb") as stream:
            data = stream.read(max_bytes + 1)
    except FileNotFoundError:
        raise PlanError(f"{what} not found", file=str(file)) from None
    except OSError as exc:
        raise PlanError(f"cannot read the {what} ({exc.strerror or type(exc).__name__})",
                        file=str(file)) from None
    if len(data) > max_bytes:
        raise PlanError(f"the {what} is larger than {max_bytes / MIB:g} MB, the most this "
                        "planner reads", file=str(file))
    wide = next((name for bom, name in _WIDE.items() if data.startswith(bom)), None)
    if wide:
        raise PlanError(f"not UTF-8 text: the file is {wide} (it starts with a {wide} byte "
                        "order mark); save it as UTF-8", file=str(file))
    if b"\0" in data:
        raise PlanError("not UTF-8 text: a NUL byte (is it UTF-16 or a binary file?); save it "
                        "as UTF-8", file=str(file), line=_line(data, data.index(b"\0")))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PlanError(f"not UTF-8 text: byte 0x{data[exc.start]:02x} is not UTF-8 (Latin-1 "
                        "or Windows-1252?); save the file as UTF-8", file=str(file),
                        line=_line(data, exc.start)) from None


def _line(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1
