"""Rules and dates: ISO 8601 forms crm_simulate accepts, rule semantics, next-change times."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from lxml import etree

from tandem.cib.rules import (
    RuleContext,
    compare_values,
    eval_rule,
    parse_datetime,
    parse_duration_text,
    parse_interval_ms,
)
from tandem.cib.unpack import OpRecord, classify
from tandem.errors import CibError


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("2005-020", datetime(2005, 1, 20, tzinfo=UTC)),  # ordinal date: day 20 of 2005
        ("2005-020T11:30", datetime(2005, 1, 20, 11, 30, tzinfo=UTC)),
        ("2014-05-07 00:28:00", datetime(2014, 5, 7, 0, 28, tzinfo=UTC)),
        ("2005-01-20", datetime(2005, 1, 20, tzinfo=UTC)),
        ("2009-W01-1", datetime(2008, 12, 29, tzinfo=UTC)),  # ISO week 1 of 2009 starts Mon 29 Dec 2008
        ("2014-05-07T02:28:00+02:00", datetime(2014, 5, 7, 0, 28, tzinfo=UTC)),
    ],
)
def test_parse_datetime_forms(text: str, want: datetime) -> None:
    assert parse_datetime(text) == want


def test_parse_datetime_rejects_garbage_with_one_line() -> None:
    with pytest.raises(CibError) as exc:
        parse_datetime("yesterday")
    assert "yesterday" in str(exc.value) and "\n" not in str(exc.value)


def test_durations_and_intervals() -> None:
    d = parse_duration_text("P1MT2H")
    assert d.add_to(datetime(2005, 1, 31, tzinfo=UTC)) == datetime(2005, 2, 28, 2, tzinfo=UTC)
    assert parse_interval_ms("30s") == 30000
    assert parse_interval_ms("10") == 10000
    assert parse_interval_ms("1min") == 60000
    assert parse_interval_ms("PT10M") == 600000


def test_compare_types() -> None:
    assert compare_values("lt", "9", "10", None)  # integers, not strings
    assert not compare_values("lt", "9", "10", "string")
    assert compare_values("gt", "1.5", "1.25", None)  # number when a dot is present
    assert compare_values("lt", "2.10", "2.9", "number")
    assert compare_values("gt", "2.10", "2.9", "version")
    assert compare_values("defined", "x", None, None)
    assert compare_values("not_defined", None, None, None)


def _rule(xml: str) -> etree._Element:
    return etree.fromstring(xml)


def test_date_rule_in_range_reports_its_end() -> None:
    rule = _rule(
        '<rule id="r" score="100"><date_expression id="d" operation="in_range" '
        'start="2005-01-01" end="2005-02-01"/></rule>'
    )
    ctx = RuleContext(now=datetime(2005, 1, 20, tzinfo=UTC))
    assert eval_rule(rule, ctx)
    assert ctx.recheck_at == datetime(2005, 2, 1, 0, 0, 1, tzinfo=UTC)
    later = RuleContext(now=datetime(2005, 3, 1, tzinfo=UTC))
    assert not eval_rule(rule, later) and later.recheck_at is None


def test_date_rule_not_yet_started_reports_its_start() -> None:
    rule = _rule('<rule id="r"><date_expression id="d" operation="gt" start="2005-06-01"/></rule>')
    ctx = RuleContext(now=datetime(2005, 1, 20, tzinfo=UTC))
    assert not eval_rule(rule, ctx)
    assert ctx.recheck_at == datetime(2005, 6, 1, 0, 0, 1, tzinfo=UTC)


def test_boolean_op_and_node_attributes() -> None:
    rule = _rule(
        '<rule id="r" boolean-op="or">'
        '<expression id="e1" attribute="disk" operation="eq" value="ssd"/>'
        '<expression id="e2" attribute="#uname" operation="eq" value="node9"/></rule>'
    )
    now = datetime(2005, 1, 1, tzinfo=UTC)
    assert eval_rule(rule, RuleContext(now=now, node_attrs={"#uname": "node9"}))
    assert eval_rule(rule, RuleContext(now=now, node_attrs={"#uname": "n1", "disk": "ssd"}))
    assert not eval_rule(rule, RuleContext(now=now, node_attrs={"#uname": "n1", "disk": "hdd"}))


def _op(task: str, interval: int, rc: int, status: int = 0, expected: int | None = None) -> OpRecord:
    return OpRecord("x", task, interval, rc, status, 1, expected, None, None, None, None, None)


@pytest.mark.parametrize(
    ("op", "want"),
    [
        (_op("monitor", 0, 7, expected=7), "not_running"),  # probe: not running here
        (_op("monitor", 0, 0, expected=7), "ok"),  # probe found it running
        (_op("monitor", 10000, 7, expected=0), "failed"),  # recurring monitor: it died
        (_op("start", 0, 1, expected=0), "failed"),
        (_op("start", 0, 5, expected=0), "hard"),  # not installed: ban the node
        (_op("monitor", 0, 5, expected=7), "not_installed"),
        (_op("start", 0, 6, expected=0), "fatal"),  # not configured: ban everywhere
        (_op("start", 0, 0, status=4, expected=0), "ok"),  # op-status error re-judged by rc
        (_op("start", 0, 0, status=2, expected=0), "failed"),  # timeout
        (_op("monitor", 20000, 0, expected=7), "failed"),  # role=Stopped monitor found it running
    ],
)
def test_classify_operation_results(op: OpRecord, want: str) -> None:
    assert classify(op) == want
