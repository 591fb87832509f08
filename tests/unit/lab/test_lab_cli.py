"""The lab CLI's argument handling (no lab needed)."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from tandem.cli.lab import _split_command, lab


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (("--", "ip", "-4", "addr"), ("tandem", ["ip", "-4", "addr"])),
        (("hostname",), ("tandem", ["hostname"])),
        (("--lab", "x", "--", "ls", "--lab"), ("x", ["ls", "--lab"])),
        (("--lab=y", "cat", "-"), ("y", ["cat", "-"])),
        (("--", "--lab", "z"), ("tandem", ["--lab", "z"])),
    ],
)
def test_split_command(command: tuple[str, ...], expected: tuple[str, list[str]]) -> None:
    assert _split_command("tandem", command) == expected


def test_missing_command_is_a_usage_error() -> None:
    with pytest.raises(click.UsageError):
        _split_command("tandem", ("--",))


def test_bad_parameters_fail_before_touching_the_system(tmp_path: object) -> None:
    r = CliRunner().invoke(lab, ["up", "--nodes", "0", "--lab", "unit"], standalone_mode=False,
                           env={"TANDEM_LAB_DIR": str(tmp_path)})
    assert r.exception is not None and "1 to 32 nodes, not 0" in str(r.exception)


def test_status_of_a_lab_that_does_not_exist(tmp_path: object) -> None:
    r = CliRunner().invoke(lab, ["status", "--lab", "nothere"],
                           env={"TANDEM_LAB_DIR": str(tmp_path)})
    assert r.exit_code == 0
    assert r.output == "Lab 'nothere' is down\n"
