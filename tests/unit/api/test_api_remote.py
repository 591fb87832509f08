"""pcs-style multi-node commands over the client: output lines, two-phase stop, failures."""

from __future__ import annotations

import pytest
from conftest import FakeTransport

from tandem.api.client import PeerUnreachable
from tandem.api.remote import run_action, run_setup
from tandem.api.storage import Dest, KnownHost, KnownHosts
from tandem.errors import PeerError


def known(*names: str) -> KnownHosts:
    kh = KnownHosts()
    for n in names:
        kh.put(KnownHost(n, f"t-{n}", (Dest(n),)))
    return kh


def test_start_prints_pcs_lines_and_succeeds() -> None:
    lines: list[str] = []
    t = FakeTransport({"a": (200, {"success": True}), "b": (200, {"success": True})})
    run_action(["a", "b"], "start", lines.append, wait=30, known_hosts=known("a", "b"), transport=t)
    assert lines == ["a: Starting Cluster...", "b: Starting Cluster..."]
    assert all(r[4] == {"timeout": 120.0, "wait": 30} for r in t.requests)


def test_stop_is_two_phase_and_skips_nodes_that_failed() -> None:
    calls: list[tuple[str, str]] = []

    def answer(method: str, path: str, token: str | None, body: dict) -> tuple[int, dict]:
        calls.append((token or "", body["only"]))
        ok = not (token == "t-b" and body["only"] == "tandemd")
        return 200, {"success": ok, "stderr": "Error: resources did not stop\n"}

    lines: list[str] = []
    t = FakeTransport({"a": answer, "b": answer})
    with pytest.raises(PeerError) as exc:
        run_action(["a", "b"], "stop", lines.append, known_hosts=known("a", "b"), transport=t)
    assert sorted(calls) == [("t-a", "corosync"), ("t-a", "tandemd"), ("t-b", "tandemd")]
    assert lines == [
        "a: Stopping Cluster (tandemd)...", "b: Stopping Cluster (tandemd)...",
        "a: Stopping Cluster (corosync)...",
    ]
    assert [r.message for r in exc.value.reports] == ["b: resources did not stop"]


def test_offline_node_fails_the_command_with_one_line() -> None:
    t = FakeTransport({"a": (200, {"success": True}), "b": PeerUnreachable("No route to host")})
    with pytest.raises(PeerError) as exc:
        run_action(["a", "b"], "enable", lambda _l: None, known_hosts=known("a", "b"), transport=t)
    assert [r.payload["node"] for r in exc.value.reports] == ["b"]
    assert "No route to host" in exc.value.reports[0].message


def test_setup_lines() -> None:
    lines: list[str] = []
    t = FakeTransport({"a": (200, {"success": True}), "b": (200, {"success": True})})
    run_setup(["a", "b"], "c", "totem {}", b"k" * 32, lines.append, known_hosts=known("a", "b"),
              transport=t)
    assert lines == [
        "Destroying cluster on hosts: 'a', 'b'...",
        "a: Successfully destroyed cluster",
        "b: Successfully destroyed cluster",
        "Sending 'corosync authkey', 'corosync.conf' to 'a', 'b'",
        "a: successful distribution of the file 'corosync authkey'",
        "a: successful distribution of the file 'corosync.conf'",
        "b: successful distribution of the file 'corosync authkey'",
        "b: successful distribution of the file 'corosync.conf'",
        "Cluster has been successfully set up.",
    ]


def test_setup_failure_raises_and_does_not_claim_success() -> None:
    lines: list[str] = []
    t = FakeTransport({"a": (409, {"reports": [{"message": "a already has a different conf"}]})})
    with pytest.raises(PeerError):
        run_setup(["a"], "c", "totem {}", b"k" * 32, lines.append, known_hosts=known("a"),
                  transport=t)
    assert "Cluster has been successfully set up." not in lines
