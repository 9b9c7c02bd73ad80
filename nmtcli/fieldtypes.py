"""One rule for the JSON type of a dataclass field, shared by the configs and the records.

Fields are annotated `int`, `float`, `bool`, `str` or `dict[...]`, optionally `| None`. An int
passes as a float; a bool never passes as a number (JSON `true` is not `1` here).
"""

from __future__ import annotations

from typing import Any

_ALLOWED: dict[str, tuple[type, ...]] = {
    "int": (int,),
    "float": (int, float),
    "str": (str,),
    "bool": (bool,),
    "dict": (dict,),
}
_WORDS = {"int": "an integer", "float": "a number", "str": "a string", "bool": "true or false"}


def type_problem(value: Any, annotation: Any) -> str | None:
    """None if `value` fits a field annotated `annotation`, else what the value should be."""
    kinds = [part.strip().split("[")[0] for part in str(annotation).split("|")]
    if value is None and "None" in kinds:
        return None
    allowed = _ALLOWED.get(kinds[0], (object,))
    if isinstance(value, allowed) and (bool in allowed or not isinstance(value, bool)):
        return None
    return _WORDS.get(kinds[0], f"a {kinds[0]}")
