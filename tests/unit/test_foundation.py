"""Scores, digests and the report hierarchy: the pieces every layer builds on."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from tandem.cib import scores
from tandem.cib.digest import op_digest
from tandem.errors import CibError, ReportList, ScoreError, error, warning


@pytest.mark.parametrize(
    ("a", "b", "total"),
    [
        (1, 2, 3),
        (scores.INFINITY, 5, scores.INFINITY),
        (scores.INFINITY, scores.MINUS_INFINITY, scores.MINUS_INFINITY),
        (scores.MINUS_INFINITY, scores.INFINITY, scores.MINUS_INFINITY),
        (999_999, 999_999, scores.INFINITY),
        (-999_999, -2, scores.MINUS_INFINITY),
    ],
)
def test_score_addition_saturates(a: int, b: int, total: int) -> None:
    assert scores.add(a, b) == total


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("INFINITY", 1_000_000),
        ("+INFINITY", 1_000_000),
        ("-INFINITY", -1_000_000),
        ("250", 250),
        ("-7", -7),
        ("2000000", 1_000_000),
        ("1.0", 1),
        ("red", -1_000_000),
    ],
)
def test_score_parse(text: str, value: int) -> None:
    assert scores.parse(text) == value


def test_bad_score_names_the_value() -> None:
    with pytest.raises(ScoreError) as exc:
        scores.parse("lots")
    assert "'lots'" in str(exc.value)
    assert exc.value.code == "INVALID_SCORE"


def test_digest_recipe_matches_op_digests_note() -> None:
    # Values from ../shared/notes/op-digests.md (checked against Pacemaker's records).
    params = {"ip": "192.0.2.100", "cidr_netmask": "32"}
    assert op_digest(params) == "8aa05eaf0a3b23e83d69ded4e3744164"
    assert op_digest(params, interval_ms=30000) == "75093a4c7a2174e765eab8faf3b43b1d"


def test_report_list_collects_and_forces() -> None:
    reports = ReportList([error("X", "bad thing", force_code="FORCE"), warning("Y", "odd")])
    assert reports.has_errors
    assert not reports.apply_force(True).has_errors
    with pytest.raises(CibError.__mro__[1]):
        reports.raise_if_errors()


def test_cli_runs() -> None:
    from tandem.cli.main import cli

    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    assert "high-availability" in result.output
