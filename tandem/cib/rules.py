"""Rule and date evaluation (Pacemaker Explained, "Rules"), with ``now`` as an input.

Why pure: the scheduler never reads the clock.  ``now`` comes from the caller
(``-t/--set-datetime`` for simulate, the controller's clock for the daemon),
and every evaluation also reports the earliest later time at which its answer
could change (a date range starting or ending), so that the scheduler can
return ``recheck_at`` and the controller can rerun it then.

Rules are kept as lxml elements in the model; evaluation walks them here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from lxml import etree

from tandem.errors import CibError, Report

# --------------------------------------------------------------------------- dates

_DATE_RE = re.compile(
    r"^\s*(?P<y>\d{4})(?:-?(?:(?P<ord>\d{3})(?!\d)|W(?P<wk>\d{2})-?(?P<wd>\d)|(?P<m>\d{2})-?(?P<d>\d{2})))?"
    r"(?:[T ](?P<H>\d{2}):?(?P<M>\d{2})?:?(?P<S>\d{2})?(?:\.\d+)?"
    r"\s*(?P<tz>Z|[+-]\d{2}:?\d{2}|[+-]\d{2})?)?\s*$"
)


def parse_datetime(text: str) -> datetime:
    """Parse ISO 8601 as crm_time does: calendar, ordinal (2005-020) and week dates.

    A naive result is taken as UTC (crm_simulate's tests run in UTC).
    """
    m = _DATE_RE.match(text or "")
    if not m:
        raise CibError(
            Report(
                "INVALID_DATE",
                f"'{text}' is not a valid ISO 8601 date: use e.g. 2005-01-20, 2005-020 or "
                "'2014-05-07 00:28:00'",
                {"value": text},
            )
        )
    year = int(m["y"])
    if m["ord"]:
        day = date(year, 1, 1) + timedelta(days=int(m["ord"]) - 1)
    elif m["wk"]:
        jan4 = date(year, 1, 4)
        week1 = jan4 - timedelta(days=jan4.isoweekday() - 1)
        day = week1 + timedelta(weeks=int(m["wk"]) - 1, days=int(m["wd"]) - 1)
    elif m["m"]:
        day = date(year, int(m["m"]), int(m["d"]))
    else:
        day = date(year, 1, 1)
    hour = int(m["H"] or 0)
    minute = int(m["M"] or 0)
    sec = int(m["S"] or 0)
    tz = UTC
    if m["tz"] and m["tz"] != "Z":
        s = m["tz"].replace(":", "")
        sign = -1 if s[0] == "-" else 1
        hh = int(s[1:3])
        mm = int(s[3:5]) if len(s) >= 5 else 0
        from datetime import timezone

        tz = timezone(sign * timedelta(hours=hh, minutes=mm))
    extra = timedelta(0)
    if hour == 24:
        hour, extra = 0, timedelta(days=1)
    dt = datetime(day.year, day.month, day.day, hour, minute, sec, tzinfo=tz) + extra
    return dt.astimezone(UTC)


_DUR_RE = re.compile(
    r"^P(?:(?P<Y>\d+)Y)?(?:(?P<Mo>\d+)M)?(?:(?P<W>\d+)W)?(?:(?P<D>\d+)D)?"
    r"(?:T(?:(?P<H>\d+)H)?(?:(?P<Mi>\d+)M)?(?:(?P<S>\d+)S)?)?$"
)


@dataclass
class Duration:
    years: int = 0
    months: int = 0
    seconds: int = 0  # days/hours/minutes/seconds folded

    def add_to(self, dt: datetime) -> datetime:
        month0 = dt.month - 1 + self.months + 12 * self.years
        y, mo = dt.year + month0 // 12, month0 % 12 + 1
        import calendar

        d = min(dt.day, calendar.monthrange(y, mo)[1])
        return dt.replace(year=y, month=mo, day=d) + timedelta(seconds=self.seconds)


def parse_duration_text(text: str) -> Duration:
    m = _DUR_RE.match(text.strip())
    if not m:
        raise CibError(Report("INVALID_DURATION", f"'{text}' is not a valid ISO 8601 duration"))
    g = {k: int(v) if v else 0 for k, v in m.groupdict().items()}
    secs = g["W"] * 7 * 86400 + g["D"] * 86400 + g["H"] * 3600 + g["Mi"] * 60 + g["S"]
    return Duration(g["Y"], g["Mo"], secs)


def duration_from_element(el: etree._Element) -> Duration:
    def n(name: str) -> int:
        v = el.get(name)
        try:
            return int(v) if v else 0
        except ValueError:
            return 0

    secs = n("weeks") * 7 * 86400 + n("days") * 86400 + n("hours") * 3600
    secs += n("minutes") * 60 + n("seconds")
    return Duration(n("years"), n("months"), secs)


_INTERVAL_UNITS = {
    "": 1000, "s": 1000, "sec": 1000, "ms": 1, "msec": 1, "us": 0.001, "usec": 0.001,
    "m": 60000, "min": 60000, "h": 3600000, "hr": 3600000,
}


def parse_interval_ms(text: str | None, default: int = 0) -> int:
    """Pacemaker intervals/timeouts: '30s', '10', '1min', '500ms', 'PT10M' -> milliseconds."""
    if text is None:
        return default
    s = text.strip()
    if not s:
        return default
    if s.upper().startswith("P"):
        up = s.upper()
        m = re.match(r"^P(\d+[WD])*(\d+[HS])$", up) if "T" not in up else None
        if m:
            # Pacemaker reads "P30S" (no time designator) as thirty seconds
            up = up[: m.start(2)] + "T" + up[m.start(2):]
        try:
            d = parse_duration_text(up)
        except CibError:
            return default
        return (d.seconds + d.months * 30 * 86400 + d.years * 365 * 86400) * 1000
    m = re.match(r"^(\d+)\s*([a-zA-Z]*)$", s)
    if not m:
        return default
    unit = m.group(2).lower()
    if unit not in _INTERVAL_UNITS:
        return default
    return int(int(m.group(1)) * _INTERVAL_UNITS[unit])


# --------------------------------------------------------------------------- rules


@dataclass
class RuleContext:
    """What a rule can look at."""

    now: datetime
    node_attrs: Mapping[str, str] | None = None
    rsc_class: str | None = None
    rsc_provider: str | None = None
    rsc_type: str | None = None
    op_name: str | None = None
    op_interval_ms: int | None = None
    rsc_params: Mapping[str, str] | None = None
    rsc_meta: Mapping[str, str] | None = None
    next_change: list[datetime] = field(default_factory=list)

    def note(self, when: datetime | None) -> None:
        if when is not None and when > self.now:
            self.next_change.append(when)

    @property
    def recheck_at(self) -> datetime | None:
        return min(self.next_change) if self.next_change else None


def _num(text: str, integer: bool) -> float | int | None:
    try:
        return int(float(text)) if integer else float(text)
    except (TypeError, ValueError):
        return None


def _version_key(text: str) -> tuple[int, ...]:
    return tuple(int(p) if p.isdigit() else 0 for p in re.split(r"[.\-]", text))


def compare_values(op: str, actual: str | None, ref: str | None, vtype: str | None) -> bool:
    if op == "defined":
        return actual is not None
    if op == "not_defined":
        return actual is None
    if actual is None or ref is None:
        return op == "ne" and (actual is None) != (ref is None)
    t = (vtype or "").lower()
    if not t:
        if op in ("lt", "gt", "lte", "gte"):
            t = "number" if ("." in actual or "." in ref) else "integer"
        else:
            t = "string"
    a: object
    b: object
    if t in ("integer", "number"):
        a, b = _num(actual, t == "integer"), _num(ref, t == "integer")
        if a is None or b is None:
            a, b = actual, ref
    elif t == "version":
        a, b = _version_key(actual), _version_key(ref)
    else:
        a, b = actual, ref
        if op in ("eq", "ne"):
            a, b = actual.lower(), ref.lower()
    try:
        if op == "eq":
            return a == b
        if op == "ne":
            return a != b
        if op == "lt":
            return a < b  # type: ignore[operator]
        if op == "gt":
            return a > b  # type: ignore[operator]
        if op == "lte":
            return a <= b  # type: ignore[operator]
        if op == "gte":
            return a >= b  # type: ignore[operator]
    except TypeError:
        return False
    return False


def _in_ranges(value: int, spec: str | None) -> bool:
    if spec is None:
        return True
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        if "-" in part[1:]:
            lo, hi = part.split("-", 1)
            try:
                if int(lo) <= value <= int(hi):
                    return True
            except ValueError:
                return False
        else:
            try:
                if int(part) == value:
                    return True
            except ValueError:
                return False
    return False


def _date_spec_matches(spec: etree._Element, now: datetime) -> bool:
    iso = now.isocalendar()
    checks = {
        "years": now.year,
        "months": now.month,
        "monthdays": now.day,
        "hours": now.hour,
        "minutes": now.minute,
        "seconds": now.second,
        "yeardays": now.timetuple().tm_yday,
        "weekyears": iso[0],
        "weeks": iso[1],
        "weekdays": iso[2],
    }
    return all(_in_ranges(v, spec.get(k)) for k, v in checks.items() if spec.get(k) is not None)


def _eval_date(expr: etree._Element, ctx: RuleContext) -> bool:
    op = expr.get("operation", "in_range")
    now = ctx.now
    start = parse_datetime(expr.get("start")) if expr.get("start") else None
    end = parse_datetime(expr.get("end")) if expr.get("end") else None
    if op == "date_spec":
        spec = expr.find("date_spec")
        if spec is None:
            return False
        # The answer can change at the next minute boundary at most hourly specs
        # etc.; recheck at the next change of the smallest field used.
        step = timedelta(hours=1)
        if spec.get("seconds") is not None:
            step = timedelta(seconds=1)
        elif spec.get("minutes") is not None:
            step = timedelta(minutes=1)
        nxt = now.replace(minute=0, second=0, microsecond=0) + step
        if step < timedelta(hours=1):
            nxt = now.replace(microsecond=0) + step
        ctx.note(nxt)
        return _date_spec_matches(spec, now)
    if op == "gt":
        if start is None:
            return False
        if now > start:
            return True
        ctx.note(start + timedelta(seconds=1))
        return False
    if op == "lt":
        if end is None:
            return False
        if now < end:
            ctx.note(end)
            return True
        return False
    # in_range
    if end is None:
        dur = expr.find("duration")
        if dur is not None and start is not None:
            end = duration_from_element(dur).add_to(start)
    if start is not None and now < start:
        ctx.note(start)
        return False
    if end is not None and now > end:
        return False
    if end is not None:
        ctx.note(end + timedelta(seconds=1))
    return start is not None or end is not None


def eval_expression(expr: etree._Element, ctx: RuleContext) -> bool:
    tag = expr.tag
    if tag == "rule":
        return eval_rule(expr, ctx)
    if tag == "date_expression":
        return _eval_date(expr, ctx)
    if tag == "rsc_expression":
        for attr, have in (
            ("class", ctx.rsc_class),
            ("provider", ctx.rsc_provider),
            ("type", ctx.rsc_type),
        ):
            want = expr.get(attr)
            if want is not None and want != have:
                return False
        return True
    if tag == "op_expression":
        if expr.get("name") is not None and expr.get("name") != ctx.op_name:
            return False
        if expr.get("interval") is not None:
            return parse_interval_ms(expr.get("interval")) == (ctx.op_interval_ms or 0)
        return True
    if tag == "expression":
        attr = expr.get("attribute", "")
        actual = (ctx.node_attrs or {}).get(attr)
        ref = expr.get("value")
        source = expr.get("value-source", "literal")
        if source == "param":
            ref = (ctx.rsc_params or {}).get(ref or "")
        elif source == "meta":
            ref = (ctx.rsc_meta or {}).get(ref or "")
        return compare_values(expr.get("operation", "eq"), actual, ref, expr.get("type"))
    return False


def eval_rule(rule: etree._Element, ctx: RuleContext) -> bool:
    """Evaluate a ``<rule>``: its sub-expressions joined by boolean-op (and by default)."""
    op = (rule.get("boolean-op") or "and").lower()
    subs = [c for c in rule if isinstance(c.tag, str)]
    if not subs:
        return True  # Pacemaker treats an empty rule as satisfied
    results = []
    for sub in subs:
        results.append(eval_expression(sub, ctx))
    return any(results) if op == "or" else all(results)


def rules_pass(rules: list[etree._Element], ctx: RuleContext) -> bool:
    """A block with several rules applies when any of them passes (Pacemaker's semantics)."""
    if not rules:
        return True
    return any(eval_rule(r, ctx) for r in rules)
