"""Pacemaker scores: integers saturating at +/-INFINITY (1000000).

Rules (Pacemaker Explained, "Scores"):
- INFINITY is 1000000; any value beyond is clamped to it;
- adding saturates: anything + INFINITY = INFINITY, anything - INFINITY = -INFINITY;
- -INFINITY + INFINITY = -INFINITY (a ban beats a requirement);
- the words ``INFINITY``, ``+INFINITY``, ``-INFINITY`` are accepted, and the
  node-health words ``red``/``yellow``/``green`` map to the cluster options
  ``node-health-red`` etc. (defaults -INFINITY, 0, 0) where the caller gives them.
"""

from __future__ import annotations

from collections.abc import Mapping

from tandem.errors import Report, ScoreError

INFINITY = 1_000_000
MINUS_INFINITY = -INFINITY

HEALTH_DEFAULTS = {"red": MINUS_INFINITY, "yellow": 0, "green": 0}


def clamp(value: int) -> int:
    if value >= INFINITY:
        return INFINITY
    if value <= MINUS_INFINITY:
        return MINUS_INFINITY
    return value


def add(a: int, b: int) -> int:
    """Pacemaker's score addition (pcmk__add_scores)."""
    if a == MINUS_INFINITY or b == MINUS_INFINITY:
        return MINUS_INFINITY
    if a == INFINITY or b == INFINITY:
        return INFINITY
    return clamp(a + b)


def parse(text: str | None, *, health: Mapping[str, int] | None = None, default: int = 0) -> int:
    """Parse a score; raise ScoreError naming the bad value.

    Integers may carry a sign; decimals are truncated as Pacemaker's strtoll
    would stop at the dot ("1.0" -> 1).
    """
    if text is None:
        return default
    s = text.strip()
    if s == "":
        return default
    low = s.lower()
    if low in ("infinity", "+infinity"):
        return INFINITY
    if low == "-infinity":
        return MINUS_INFINITY
    if low in ("red", "yellow", "green"):
        table = dict(HEALTH_DEFAULTS)
        if health:
            table.update(health)
        return table[low]
    digits = s
    sign = 1
    if digits[:1] in "+-":
        sign = -1 if digits[0] == "-" else 1
        digits = digits[1:]
    head = digits.split(".", 1)[0]
    if not head.isdigit():
        raise ScoreError(
            Report(
                "INVALID_SCORE",
                f"'{text}' is not a valid score: use an integer, INFINITY or -INFINITY",
                {"value": text},
            )
        )
    return clamp(sign * int(head))


def is_score(text: str) -> bool:
    try:
        parse(text)
    except ScoreError:
        return False
    return True


def to_str(score: int) -> str:
    """Render as Pacemaker does (INFINITY / -INFINITY / integer)."""
    if score >= INFINITY:
        return "INFINITY"
    if score <= MINUS_INFINITY:
        return "-INFINITY"
    return str(score)
