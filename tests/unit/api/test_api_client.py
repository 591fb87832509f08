"""The client side: PCSD Status within its deadline (virtual clock), auth, deauth, remote actions."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from conftest import FakeTransport, VirtualTimeLoop

from tandem.api import client
from tandem.api.client import PeerUnreachable
from tandem.api.status import pcsd_status_lines
from tandem.api.storage import Dest, KnownHost, KnownHosts
from tandem.errors import PeerError


def known(*names: str) -> KnownHosts:
    kh = KnownHosts()
    for n in names:
        kh.put(KnownHost(n, f"token-{n}", (Dest(f"addr-{n}", 2224),)))
    return kh


def test_pcsd_status_never_takes_more_than_two_seconds(vloop: VirtualTimeLoop) -> None:
    transport = FakeTransport(
        {
            "addr-pcmk-1": (200, {"success": True}),
            "addr-pcmk-2": "hang",  # crashed: the SYN is never answered
            "addr-pcmk-3": "hang",
            "addr-pcmk-4": (401, {"reports": []}),
        }
    )
    start = vloop.time()
    result = vloop.run_until_complete(
        client.apcsd_status(
            ["pcmk-1", "pcmk-2", "pcmk-3", "pcmk-4", "pcmk-5"],
            2.0,
            known("pcmk-1", "pcmk-2", "pcmk-3", "pcmk-4"),
            transport,
        )
    )
    elapsed = vloop.time() - start
    assert result == {
        "pcmk-1": "Online",
        "pcmk-2": "Offline",
        "pcmk-3": "Offline",
        "pcmk-4": "Unauthorized",
        "pcmk-5": "Unauthorized",  # no token for it
    }
    assert list(result) == ["pcmk-1", "pcmk-2", "pcmk-3", "pcmk-4", "pcmk-5"]
    assert elapsed <= 2.0 + 1e-6
    # queried in parallel: one request each, all sent at the start
    assert sorted(r[1] for r in transport.requests) == [
        "addr-pcmk-1", "addr-pcmk-2", "addr-pcmk-3", "addr-pcmk-4",
    ]


def test_pcsd_status_bound_holds_with_many_hanging_nodes(vloop: VirtualTimeLoop) -> None:
    names = [f"n{i}" for i in range(40)]
    start = vloop.time()
    result = vloop.run_until_complete(
        client.apcsd_status(names, 2.0, known(*names), FakeTransport({}))
    )
    assert set(result.values()) == {"Offline"}
    assert vloop.time() - start <= 2.0 + 1e-6


def test_pcsd_status_gives_each_request_the_remaining_time(vloop: VirtualTimeLoop) -> None:
    transport = FakeTransport({"addr-a": (200, {})})
    vloop.run_until_complete(client.apcsd_status(["a"], 1.5, known("a"), transport))
    assert 0 < transport.requests[0][5] <= 1.5


def test_pcsd_status_refused_connection_is_offline_at_once(vloop: VirtualTimeLoop) -> None:
    transport = FakeTransport({"addr-a": PeerUnreachable("Connection refused")})
    start = vloop.time()
    result = vloop.run_until_complete(client.apcsd_status(["a"], 2.0, known("a"), transport))
    assert result == {"a": "Offline"}
    assert vloop.time() - start < 0.01


def test_pcsd_status_sends_the_stored_token() -> None:
    transport = FakeTransport({"addr-a": (200, {})})
    client.pcsd_status(["a"], 2.0, known("a"), transport)
    method, _addr, path, token, _body, _t = transport.requests[0]
    assert (method, path, token) == ("GET", "/api/v1/check-auth", "token-a")


def test_pcsd_status_lines_layout() -> None:
    assert pcsd_status_lines({"pcmk-1": "Online", "pcmk-2": "Offline"}) == [
        "PCSD Status:",
        "  pcmk-1: Online",
        "  pcmk-2: Offline",
    ]


def test_auth_stores_tokens_of_successful_nodes_only(tmp_path: Path) -> None:
    path = tmp_path / "known-hosts"

    def answer(method: str, path_: str, token: str | None, body: dict) -> tuple[int, dict]:
        assert token is None  # login never sends a token
        if body["password"] == "good":
            return 200, {"token": "T1"}
        return 401, {"reports": [{"message": "wrong"}]}

    transport = FakeTransport(
        {"10.0.0.1": answer, "pcmk-2": answer, "pcmk-3": PeerUnreachable("Connection refused")}
    )
    results = client.auth_nodes(
        {"pcmk-1": Dest("10.0.0.1", 3000), "pcmk-2": Dest("pcmk-2"), "pcmk-3": Dest("pcmk-3")},
        "hacluster", "good", path, transport,
    )
    assert {n: r.status for n, r in results.items()} == {
        "pcmk-1": "ok", "pcmk-2": "ok", "pcmk-3": "offline",
    }
    kh = KnownHosts.load(path)
    assert set(kh.hosts) == {"pcmk-1", "pcmk-2"}
    assert kh.get("pcmk-1") == KnownHost("pcmk-1", "T1", (Dest("10.0.0.1", 3000),), "fp-10.0.0.1")
    # the login itself went to the certificate just fingerprinted
    assert set(transport.pins) == {"fp-10.0.0.1", "fp-pcmk-2"}
    assert path.stat().st_mode & 0o777 == 0o600
    assert "token" not in results["pcmk-1"].data  # the token is not echoed back to callers

    bad = client.auth_nodes({"pcmk-9": Dest("pcmk-2")}, "hacluster", "bad", path, transport)
    assert bad["pcmk-9"].status == "unauthorized"
    assert "pcmk-9" not in KnownHosts.load(path).hosts


def test_deauth_forgets_locally_even_when_the_node_is_down(tmp_path: Path) -> None:
    path = tmp_path / "known-hosts"
    kh = known("a", "b", "c")
    kh.save(path)
    transport = FakeTransport({"addr-a": (200, {}), "addr-b": PeerUnreachable("timed out")})
    results = client.deauth_nodes(["a", "b"], path, transport)
    assert results["a"].ok and results["b"].status == "offline"
    assert set(KnownHosts.load(path).hosts) == {"c"}
    assert [(r[2], r[3]) for r in sorted(transport.requests)] == [
        ("/api/v1/deauth", "token-a"), ("/api/v1/deauth", "token-b"),
    ]


def test_remote_action_results_per_node(tmp_path: Path) -> None:
    transport = FakeTransport(
        {
            "addr-a": (200, {"success": True, "stdout": "Starting Cluster...\n"}),
            "addr-b": (200, {"success": False, "stderr": "Error: corosync.conf missing\n"}),
            "addr-c": (401, {"reports": [{"message": "token not accepted by c"}]}),
            "addr-d": PeerUnreachable("Connection refused"),
        }
    )
    results = client.remote_cluster_action(
        ["a", "b", "c", "d", "e"], "start", 60, known("a", "b", "c", "d"), transport
    )
    assert {n: r.status for n, r in results.items()} == {
        "a": "ok", "b": "error", "c": "unauthorized", "d": "offline", "e": "unauthorized",
    }
    assert results["b"].message == "b: corosync.conf missing"
    body = transport.requests[0][4]
    assert body == {"timeout": 60}
    with pytest.raises(PeerError) as exc:
        client.raise_for_failures(results)
    assert [r.payload["node"] for r in exc.value.reports] == ["b", "c", "d", "e"]
    client.raise_for_failures({"a": results["a"]})  # nothing raised when all succeeded


def test_remote_action_rejects_unknown_action() -> None:
    with pytest.raises(ValueError):
        client.remote_cluster_action(["a"], "destroy", 5, known("a"), FakeTransport({}))


def test_remote_action_gives_up_on_a_hanging_node(vloop: VirtualTimeLoop) -> None:
    transport = FakeTransport({"addr-a": (200, {"success": True})})
    start = vloop.time()
    results = vloop.run_until_complete(
        client.aremote_cluster_action(["a", "b"], "stop", 30, known("a", "b"), transport)
    )
    assert results["a"].ok and results["b"].status == "timeout"
    assert vloop.time() - start <= 30 + 10 + 2 + 1e-6


def test_distribute_cluster_config_sends_base64_authkey() -> None:
    transport = FakeTransport({"addr-a": (200, {"success": True})})
    results = client.distribute_cluster_config(
        ["a"], "mycluster", "totem {}\n", b"\x00\x01" * 64, known_hosts=known("a"),
        transport=transport,
    )
    assert results["a"].ok
    _m, _a, path, token, body, _t = transport.requests[0]
    assert path == "/api/v1/cluster/setup" and token == "token-a"
    import base64

    assert base64.b64decode(body["authkey"]) == b"\x00\x01" * 64
    assert body["cluster_name"] == "mycluster" and body["force"] is False


def test_run_sync_does_not_wait_for_leftover_tasks() -> None:
    async def main() -> str:
        asyncio.ensure_future(asyncio.sleep(3600))  # a stuck leftover
        return "done"

    assert client.run_sync(main()) == "done"


def test_setup_shares_the_known_hosts_of_the_cluster_nodes() -> None:
    transport = FakeTransport({"addr-a": (200, {"success": True}), "addr-b": (200, {})})
    kh = known("a", "b", "other")
    client.distribute_cluster_config(["a", "b"], "c", "totem {}", b"k" * 32, known_hosts=kh,
                                     transport=transport)
    body = transport.requests[0][4]
    assert set(body["known_hosts"]) == {"a", "b"}
    assert body["known_hosts"]["b"] == {"dest_list": [{"addr": "addr-b", "port": 2224}],
                                        "token": "token-b"}


def test_share_known_hosts() -> None:
    transport = FakeTransport({"addr-a": (200, {"success": True})})
    res = client.share_known_hosts(["a"], ["b"], known_hosts=known("a", "b"), transport=transport)
    assert res["a"].ok
    assert transport.requests[0][2] == "/api/v1/known-hosts"
    assert set(transport.requests[0][4]["known_hosts"]) == {"b"}


def test_changed_certificate_is_refused_and_reported(vloop: VirtualTimeLoop) -> None:
    kh = KnownHosts()
    kh.put(KnownHost("a", "tok", (Dest("addr-a"),), "old-fp"))
    transport = FakeTransport({"addr-a": (200, {"success": True})}, certs={"addr-a": "new-fp"})
    status = vloop.run_until_complete(client.apcsd_status(["a"], 2.0, kh, transport))
    assert status == {"a": "Unauthorized"}
    results = client.remote_cluster_action(["a"], "start", 10, kh, transport)
    assert results["a"].status == "unauthorized"
    assert "certificate changed" in results["a"].message and "host auth a" in results["a"].message
    assert transport.pins == ["old-fp", "old-fp"]


def test_known_hosts_without_pin_still_work() -> None:
    """Files written by pcs (or before pinning) have no cert_sha256: no pin is checked."""
    transport = FakeTransport({"addr-a": (200, {"success": True})}, certs={"addr-a": "x"})
    assert client.pcsd_status(["a"], 2.0, known("a"), transport) == {"a": "Online"}
    assert transport.pins == [None]


def test_https_transport_gives_up_on_a_silent_node_at_the_connect_timeout(
    vloop: VirtualTimeLoop, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def never(*_a: object, **_k: object) -> None:
        await asyncio.sleep(3600)  # the SYN is never answered

    monkeypatch.setattr(client.asyncio, "open_connection", never)
    t = client.HttpsTransport(connect_timeout=1.0)
    start = vloop.time()
    with pytest.raises(PeerUnreachable, match="no answer to the connection request"):
        vloop.run_until_complete(
            t.request("GET", "10.0.0.1", 2224, "/", token=None, body=None, timeout=2.0)
        )
    assert vloop.time() - start == pytest.approx(1.0, abs=0.01)


def test_pcsd_status_uses_a_connect_timeout_of_half_the_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[float | None] = []

    class Recording(client.HttpsTransport):
        def __init__(self, connect_timeout: float | None = None) -> None:
            made.append(connect_timeout)
            super().__init__(connect_timeout)

    monkeypatch.setattr(client, "HttpsTransport", Recording)
    client.pcsd_status([], 1.0, KnownHosts())
    client.pcsd_status([], 2.0, KnownHosts())
    assert made == [0.5, 1.0]
