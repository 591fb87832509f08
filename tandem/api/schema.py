"""Request bodies: one declaration per endpoint, used both to validate and to publish OpenAPI.

Why declare fields once: the validator (unknown fields, wrong types, missing
fields -> 400 with a report) and the OpenAPI description can then never
disagree, and the fuzz tests can read the same table.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tandem.errors import Report, UsageError, error


@dataclass(frozen=True)
class Field:
    name: str
    type: type | tuple[type, ...]
    required: bool = False
    description: str = ""
    max_length: int | None = None
    check: Callable[[Any], Any] | None = None  # raises UsageError when the value is bad

    def openapi(self) -> dict[str, Any]:
        types = self.type if isinstance(self.type, tuple) else (self.type,)
        names = {
            str: "string", int: "integer", float: "number", bool: "boolean", list: "array",
            dict: "object",
        }
        schema: dict[str, Any] = {"type": names[types[0]], "description": self.description}
        if self.max_length is not None and types[0] is str:
            schema["maxLength"] = self.max_length
        if types[0] is list:
            schema["items"] = {"type": "string"}
        return schema


@dataclass(frozen=True)
class Body:
    fields: tuple[Field, ...] = field(default_factory=tuple)

    def openapi(self) -> dict[str, Any]:
        return {
            "type": "object",
            "additionalProperties": False,
            "properties": {f.name: f.openapi() for f in self.fields},
            "required": [f.name for f in self.fields if f.required],
        }

    def parse(self, raw: bytes) -> dict[str, Any]:
        """Decode and validate ``raw``; collect every problem, then raise one UsageError."""
        if not raw.strip():
            data: Any = {}
        else:
            try:
                data = json.loads(raw)
            except (ValueError, UnicodeDecodeError) as exc:
                raise UsageError(
                    error("MALFORMED_JSON", f"request body is not valid JSON: {exc}"[:300])
                ) from None
        if not isinstance(data, dict):
            raise UsageError(
                error("MALFORMED_JSON", "request body must be a JSON object")
            )
        problems: list[Report] = []
        known = {f.name for f in self.fields}
        unknown = sorted(k for k in data if k not in known)
        if unknown:
            shown = ", ".join(repr(k)[:60] for k in unknown[:10])
            problems.append(
                error(
                    "UNKNOWN_FIELD",
                    f"unknown field(s) {shown}; accepted: {', '.join(sorted(known)) or 'none'}",
                    fields=[k[:60] for k in unknown[:10]],
                )
            )
        out: dict[str, Any] = {}
        for f in self.fields:
            if f.name not in data:
                if f.required:
                    problems.append(
                        error("MISSING_FIELD", f"field '{f.name}' is required", field=f.name)
                    )
                continue
            value = data[f.name]
            types = f.type if isinstance(f.type, tuple) else (f.type,)
            # bool is an int in Python: do not accept true where a number is expected
            if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
                problems.append(
                    error(
                        "INVALID_FIELD",
                        f"field '{f.name}' must be of type {'/'.join(t.__name__ for t in types)}",
                        field=f.name,
                    )
                )
                continue
            if f.max_length is not None and isinstance(value, str | list) and len(value) > f.max_length:
                problems.append(
                    error(
                        "INVALID_FIELD",
                        f"field '{f.name}' is longer than {f.max_length}",
                        field=f.name,
                    )
                )
                continue
            if f.check is not None:
                try:
                    value = f.check(value)
                except UsageError as exc:
                    problems.extend(exc.reports)
                    continue
            out[f.name] = value
        if problems:
            raise UsageError(*problems)
        return out
