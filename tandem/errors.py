"""One exception hierarchy for tandem, carrying typed reports.

Why reports and not bare strings: the CLI, the HTTPS API and the tests all
need the same facts about a problem (what went wrong, on which object, can
``--force`` override it).  Following pcs, a problem is a frozen
:class:`Report` with a stable ``code``, a ``payload`` naming the objects
concerned and a human ``message``.  Library code *collects* every report it
finds, then raises one :class:`TandemError` carrying all of them; the CLI only
renders them (``Error: ...`` lines, non-zero exit) and the API serialises them
to JSON.

Severity:
- ``ERROR`` stops the command;
- ``WARNING`` is printed and the command goes on;
- an ``ERROR`` with a ``force_code`` becomes a warning when the user passed
  ``--force`` (see :func:`ReportList.apply_force`).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any


class Severity(enum.Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True)
class Report:
    """One problem or notice: a stable code, the objects concerned, a message.

    ``code`` is an UPPER_SNAKE identifier that never changes meaning once
    released (tests and API clients match on it).  ``message`` is neutral
    (no CLI hints such as "use --force"); the CLI adds those.
    """

    code: str
    message: str
    payload: Mapping[str, Any] = field(default_factory=dict)
    severity: Severity = Severity.ERROR
    force_code: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "payload", MappingProxyType(dict(self.payload)))

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "payload": dict(self.payload),
            "severity": self.severity.value,
            "force_code": self.force_code,
        }


def error(code: str, message: str, force_code: str | None = None, **payload: Any) -> Report:
    return Report(code, message, payload, Severity.ERROR, force_code)


def warning(code: str, message: str, **payload: Any) -> Report:
    return Report(code, message, payload, Severity.WARNING)


class ReportList:
    """Collects reports so that validation finds *every* problem first."""

    def __init__(self, reports: Iterable[Report] = ()) -> None:
        self._items: list[Report] = list(reports)

    def add(self, report: Report) -> None:
        self._items.append(report)

    def extend(self, reports: Iterable[Report]) -> None:
        self._items.extend(reports)

    def __iter__(self) -> Iterator[Report]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    @property
    def errors(self) -> list[Report]:
        return [r for r in self._items if r.is_error]

    @property
    def warnings(self) -> list[Report]:
        return [r for r in self._items if r.severity is Severity.WARNING]

    @property
    def has_errors(self) -> bool:
        return any(r.is_error for r in self._items)

    def apply_force(self, force: bool) -> ReportList:
        """Turn forceable errors into warnings when ``force`` is set."""
        if not force:
            return self
        return ReportList(
            Report(r.code, r.message, r.payload, Severity.WARNING, r.force_code)
            if r.is_error and r.force_code
            else r
            for r in self._items
        )

    def raise_if_errors(self) -> None:
        if self.has_errors:
            raise TandemError(*self._items)


class TandemError(Exception):
    """Base of every error tandem raises on purpose.

    Carries one or more reports.  ``TandemError("text")`` is accepted as a
    shorthand for a single generic report.
    """

    default_code = "GENERIC_ERROR"

    def __init__(self, *reports: Report | str, **payload: Any) -> None:
        items: list[Report] = []
        for r in reports:
            if isinstance(r, str):
                items.append(Report(self.default_code, r, payload))
            else:
                items.append(r)
        if not items:
            items.append(Report(self.default_code, self.__class__.__name__, payload))
        self.reports: tuple[Report, ...] = tuple(items)
        super().__init__(
            "; ".join(r.message for r in self.reports if r.is_error) or items[0].message
        )

    @property
    def code(self) -> str:
        return self.reports[0].code


class CibError(TandemError):
    """The CIB is malformed or inconsistent (bad XML, duplicate id, bad reference...)."""

    default_code = "CIB_INVALID"


class ScoreError(CibError):
    default_code = "INVALID_SCORE"


class UsageError(TandemError):
    """The user asked for something that makes no sense (bad option, bad argument)."""

    default_code = "USAGE"


class NotRunningError(TandemError):
    """A service the command needs (corosync, tandemd, the API) is not running."""

    default_code = "NOT_RUNNING"


class CorosyncError(TandemError):
    """A corosync library call failed; the message carries the cs_error name."""

    default_code = "COROSYNC_ERROR"


class AgentError(TandemError):
    """A resource or fence agent is missing, malformed, or failed in a way we must report."""

    default_code = "AGENT_ERROR"


class LabError(TandemError):
    """The namespace lab could not do what was asked."""

    default_code = "LAB_ERROR"


class PeerError(TandemError):
    """A remote node (management daemon or cluster peer) answered badly or not at all."""

    default_code = "PEER_ERROR"


class AuthError(PeerError):
    default_code = "NOT_AUTHORIZED"
