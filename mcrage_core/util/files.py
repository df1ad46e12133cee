"""Atomic file writes: a reader never sees a half-written file."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from pathlib import Path
from typing import Any

from mcrage_core.util.jsonable import to_jsonable


def atomic_write_bytes(path: Path | str, data: bytes, *, durable: bool = True) -> None:
    """Write ``data`` to ``path`` atomically (temporary file in the same folder + rename).

    A crash (or a full disk) leaves the previous version in place. ``durable=False`` skips
    the ``fsync`` (for files rewritten many times a second, such as live progress, where
    losing the last update is harmless).
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            if durable:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def atomic_write_text(path: Path | str, text: str, *, durable: bool = True) -> None:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    atomic_write_bytes(path, text.encode("utf-8"), durable=durable)


def atomic_write_json(
    path: Path | str, obj: Any, *, durable: bool = True, indent: int | None = None
) -> None:
    """Write ``obj`` as JSON atomically (cleaned by :func:`to_jsonable`: NaN → null)."""
    separators = (",", ":") if indent is None else None
    text = json.dumps(to_jsonable(obj), indent=indent, separators=separators, allow_nan=False)
    atomic_write_text(path, text, durable=durable)
