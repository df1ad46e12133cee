"""Small shared utilities, each with one home: atomic files, JSON clean-up, integer shares.

Nothing here knows about EHR tables; every package may import from here.
"""

from __future__ import annotations

from mcrage_core.util.allocation import largest_remainder
from mcrage_core.util.files import atomic_write_bytes, atomic_write_json, atomic_write_text
from mcrage_core.util.jsonable import to_jsonable

__all__ = [
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_text",
    "largest_remainder",
    "to_jsonable",
]
