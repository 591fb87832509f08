"""The outer loop (tandemd's asyncio side) over the in-memory corosync and real unix sockets."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from tandem.corosync.fake import InMemoryCorosync
from tandem.daemon import client
from tandem.daemon.core import DaemonCore
from tandem.daemon.main import Daemon
from tandem.daemon.storage import FakeClock, InMemoryCibStorage
from tandem.errors import NotRunningError, TandemError

NAMES = {1: "pcmk-1", 2: "pcmk-2"}


def _daemon(cluster: InMemoryCorosync, n: int, sock: Path, storage: InMemoryCibStorage) -> Daemon:
    t = cluster.connect(n)
    core = DaemonCore(nodeid=n, pid=t.pid, name=NAMES[n], nodelist=NAMES, cluster_name="c")
    return Daemon(core, t, storage, FakeClock(), str(sock), tick=3600)


async def _ask(sock: Path, req: dict[str, Any]) -> dict[str, Any]:
    reader, writer = await asyncio.open_unix_connection(str(sock))
    writer.write(json.dumps(req).encode() + b"\n")
    await writer.drain()
    line = await reader.readline()
    writer.close()
    return json.loads(line)


async def _pump(cluster: InMemoryCorosync) -> None:
    """The fake's ring only moves when pumped: keep delivering (cooperatively)."""
    while True:
        cluster.run_until_idle()
        await asyncio.sleep(0)


async def _until(sock: Path, pred: Any) -> dict[str, Any]:
    for _ in range(10_000):
        if not sock.exists():  # the daemon has not bound its socket yet
            await asyncio.sleep(0)
            continue
        answer = await _ask(sock, {"cmd": "info"})
        if pred(answer["result"]):
            return answer["result"]
        await asyncio.sleep(0)
    raise AssertionError("never reached")


def test_two_daemons_replicate_and_shut_down_cleanly(tmp_path: Path) -> None:
    cluster = InMemoryCorosync(NAMES)
    socks = {n: tmp_path / f"{n}.sock" for n in NAMES}
    stores = {n: InMemoryCibStorage() for n in NAMES}
    daemons = {n: _daemon(cluster, n, socks[n], stores[n]) for n in NAMES}

    async def scenario() -> list[int]:
        pump = asyncio.create_task(_pump(cluster))
        runs = [asyncio.create_task(d.run()) for d in daemons.values()]
        info = await _until(socks[2], lambda i: i["synced"] and len(i["members"]) == 2)
        assert info["dc"] == "pcmk-1"
        ops = [
            {
                "op": "create",
                "parent": "resources",
                "xml": '<primitive id="A" class="ocf" provider="heartbeat" type="Dummy"/>',
            }
        ]
        answer = await _ask(socks[2], {"cmd": "apply", "ops": ops})
        assert answer["ok"], answer
        bad = await _ask(socks[1], {"cmd": "apply", "ops": ops})
        assert not bad["ok"] and bad["reports"][0]["code"] in ("CIB_ID_EXISTS", "CIB_DUPLICATE_ID")
        cib1 = (await _ask(socks[1], {"cmd": "get_cib"}))["result"]
        assert '<primitive id="A"' in cib1
        assert (await _ask(socks[1], {"cmd": "nonsense"}))["reports"][0][
            "code"
        ] == "UNKNOWN_REQUEST"
        assert (await _ask(socks[1], {"cmd": "shutdown"}))["ok"]
        code1 = await runs[0]
        info2 = await _until(socks[2], lambda i: i["members"] == ["pcmk-2"])
        assert info2["dc"] == "pcmk-2"
        assert (await _ask(socks[2], {"cmd": "shutdown"}))["ok"]
        codes = [code1, await runs[1]]
        pump.cancel()
        return codes

    assert asyncio.run(scenario()) == [0, 0]
    assert not any(s.exists() for s in socks.values())  # sockets removed at exit
    assert b'id="A"' in (stores[1].data or b"") and b'id="A"' in (stores[2].data or b"")


def test_client_without_daemon_says_not_running(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TANDEM_RUN_DIR", str(tmp_path))
    with pytest.raises(NotRunningError, match="cluster is not currently running on this node"):
        client.get_cib_xml()
    assert not client.is_running()


def test_client_against_a_daemon(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TANDEM_RUN_DIR", str(tmp_path))
    cluster = InMemoryCorosync({1: "pcmk-1"})
    t = cluster.connect(1)
    d = Daemon(
        DaemonCore(nodeid=1, pid=t.pid, name="pcmk-1"),
        t,
        InMemoryCibStorage(),
        FakeClock(),
        client.socket_path(),
        tick=3600,
    )

    async def scenario() -> None:
        pump = asyncio.create_task(_pump(cluster))
        run = asyncio.create_task(d.run())
        loop = asyncio.get_running_loop()
        await _until(Path(client.socket_path()), lambda i: i["synced"])
        ops = [
            {
                "op": "create",
                "parent": "resources",
                "xml": '<primitive id="B" class="ocf" provider="heartbeat" type="Dummy"/>',
            }
        ]
        result = await loop.run_in_executor(None, client.apply, ops)
        assert result["version"].split(":")[1] == "2"
        with pytest.raises(TandemError, match="'B' already exists"):
            await loop.run_in_executor(None, client.apply, ops)
        assert "B" in await loop.run_in_executor(None, client.get_cib_xml)
        info = await loop.run_in_executor(None, client.cluster_info)
        assert info["dc"] == "pcmk-1" and info["quorate"]
        await loop.run_in_executor(None, client.request_shutdown)
        assert await run == 0
        pump.cancel()

    asyncio.run(scenario())
