"""FakeLab keeps the real lab's rules, and both honour the LabLike protocol."""

from __future__ import annotations

import inspect
import subprocess
from pathlib import Path

import pytest

from tandem.errors import LabError
from tandem.lab import Lab
from tandem.lab.fake import FakeLab, LabLike


def test_both_labs_share_the_protocol_signatures() -> None:
    assert isinstance(FakeLab(Path("/nonexistent")), LabLike)
    for name in ("node_address", "node_path", "is_running", "exec", "host_exec", "crash",
                 "boot", "partition", "heal"):
        real = inspect.signature(getattr(Lab, name))
        fake = inspect.signature(getattr(FakeLab, name))
        assert list(real.parameters) == list(fake.parameters), name
        for p in real.parameters.values():
            assert fake.parameters[p.name].default == p.default, (name, p.name)


def test_boot_runs_the_enabled_services(tmp_path: Path) -> None:
    lab = FakeLab(tmp_path, node_count=2).up()
    assert [c.argv for c in lab.calls] == [["/venv/bin/tandemd-api"]] * 2
    lab.node_path("pcmk-2", "/etc/tandem/enabled/cluster").touch()
    lab.node_path("pcmk-2", "/etc/tandem/enabled/api").unlink()
    lab.calls.clear()
    lab.crash("pcmk-2")
    lab.boot("pcmk-2")
    assert [(c.node, c.argv) for c in lab.calls] == [
        ("pcmk-2", ["/venv/bin/tandem", "cluster", "start"])]


def test_down_node_refuses_commands_and_double_boot(tmp_path: Path) -> None:
    lab = FakeLab(tmp_path, node_count=2).up()
    lab.crash("pcmk-1")
    with pytest.raises(LabError) as exc:
        lab.exec("pcmk-1", ["true"])
    assert exc.value.code == "LAB_NODE_DOWN"
    with pytest.raises(LabError):
        lab.crash("pcmk-1")
    lab.boot("pcmk-1")
    with pytest.raises(LabError) as exc:
        lab.boot("pcmk-1")
    assert exc.value.code == "LAB_NODE_RUNNING"
    with pytest.raises(LabError) as exc:
        lab.exec("pcmk-7", ["true"])
    assert exc.value.code == "LAB_NO_SUCH_NODE"


def test_responder_and_check(tmp_path: Path) -> None:
    def respond(node: str, argv: list[str]) -> tuple[int, str, str] | None:
        if argv == ["hostname"]:
            return 0, node + "\n", ""
        if argv[0] == "false":
            return 1, "", "nope\n"
        return None

    lab = FakeLab(tmp_path, node_count=3, responder=respond).up()
    assert lab.exec("pcmk-3", ["hostname"]).stdout == "pcmk-3\n"
    assert lab.exec("pcmk-3", ["false"]).returncode == 1
    with pytest.raises(subprocess.CalledProcessError):
        lab.exec("pcmk-1", ["false"], check=True)
    assert lab.host_exec(["curl", "http://192.0.2.120/"]).returncode == 0
    assert lab.calls[-1].node is None


def test_partition_reachability(tmp_path: Path) -> None:
    lab = FakeLab(tmp_path, node_count=3).up()
    assert lab.partition(["pcmk-2"]) == (["pcmk-2"], ["pcmk-1", "pcmk-3"])
    assert not lab.reachable("pcmk-1", "pcmk-2")
    assert lab.reachable("pcmk-1", "pcmk-3")
    lab.partition(["pcmk-1"])
    assert lab.reachable("pcmk-2", "pcmk-3") and not lab.reachable("pcmk-1", "pcmk-3")
    lab.crash("pcmk-3")
    assert not lab.reachable("pcmk-2", "pcmk-3")
    lab.heal()
    assert lab.reachable("pcmk-1", "pcmk-2")
