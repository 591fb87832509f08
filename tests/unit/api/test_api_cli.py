"""``tandem host auth|deauth``, ``pcsd deauth|status`` and ``cluster auth`` through click."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner
from conftest import FakeTransport

from tandem.api import client
from tandem.api.storage import Dest, KnownHost, KnownHosts, TokenStore
from tandem.cli import host as host_cli
from tandem.cli.main import cli
from tandem.errors import UsageError


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setenv("TANDEM_KNOWN_HOSTS", str(tmp_path / "known-hosts"))
    monkeypatch.setenv("TANDEM_API_STATE_DIR", str(tmp_path / "api"))
    monkeypatch.setenv("TANDEM_COROSYNC_DIR", str(tmp_path / "corosync"))
    holder: dict[str, Any] = {"transport": FakeTransport({})}
    monkeypatch.setattr(client, "HttpsTransport", lambda **_kw: holder["transport"])
    holder["tmp"] = tmp_path
    return holder


def run(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args))


def good_login(method: str, path: str, token: str | None, body: dict) -> tuple[int, dict]:
    if path == "/api/v1/auth":
        ok = body == {"username": "hacluster", "password": "pw"}
        return (200, {"token": "TOK"}) if ok else (401, {"reports": []})
    return 200, {"success": True}


def test_host_auth_writes_known_hosts(env: dict[str, Any]) -> None:
    env["transport"] = FakeTransport({"pcmk-1": good_login, "192.0.2.102": good_login})
    r = run("host", "auth", "pcmk-1", "pcmk-2", "addr=192.0.2.102:2225", "-u", "hacluster", "-p", "pw")
    assert r.exit_code == 0, r.output
    assert r.output.splitlines() == ["pcmk-1: Authorized", "pcmk-2: Authorized"]
    data = json.loads((env["tmp"] / "known-hosts").read_text())
    assert data["known_hosts"]["pcmk-2"] == {
        "dest_list": [{"addr": "192.0.2.102", "port": 2225}], "token": "TOK",
        "cert_sha256": "fp-192.0.2.102",  # pinned at first contact
    }
    assert data["known_hosts"]["pcmk-1"]["dest_list"] == [{"addr": "pcmk-1", "port": 2224}]


def test_host_auth_wrong_password_is_one_error_line_per_node(env: dict[str, Any]) -> None:
    env["transport"] = FakeTransport({"pcmk-1": good_login})
    r = run("host", "auth", "pcmk-1", "-u", "hacluster", "-p", "bad")
    assert r.exit_code == 1
    lines = r.output.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: Unable to authenticate to pcmk-1")
    assert not (env["tmp"] / "known-hosts").exists()


@pytest.mark.parametrize("arg", ["../x", "a/b", ".."])
def test_host_auth_refuses_traversal_in_names(env: dict[str, Any], arg: str) -> None:
    r = run("host", "auth", arg, "-p", "pw")
    assert r.exit_code == 1
    assert r.output.startswith("Error: ") and "not a valid node name" in r.output
    assert env["transport"].requests == []


def test_cluster_auth_spelling_is_provided_for_the_cluster_group(env: dict[str, Any]) -> None:
    env["transport"] = FakeTransport({"pcmk-1": good_login})
    group = click.Group("cluster")
    group.add_command(host_cli.auth_command)
    r = CliRunner().invoke(group, ["auth", "pcmk-1", "-u", "hacluster", "-p", "pw"])
    assert r.exit_code == 0 and r.output == "pcmk-1: Authorized\n"


def test_cluster_auth_without_nodes_uses_the_local_cluster(env: dict[str, Any]) -> None:
    conf = env["tmp"] / "corosync" / "corosync.conf"
    conf.parent.mkdir()
    conf.write_text(
        "totem {\n cluster_name: c\n}\nnodelist {\n node {\n  ring0_addr: 192.0.2.101\n"
        "  name: pcmk-1\n  nodeid: 1\n }\n node {\n  name: pcmk-2\n  nodeid: 2\n }\n}\n"
    )
    assert host_cli.local_cluster_nodes(conf) == ["pcmk-1", "pcmk-2"]
    env["transport"] = FakeTransport({"pcmk-1": good_login, "pcmk-2": good_login})
    group = click.Group("cluster")
    group.add_command(host_cli.auth_command)
    r = CliRunner().invoke(group, ["auth", "-u", "hacluster", "-p", "pw"])
    assert r.exit_code == 0 and r.output == "pcmk-1: Authorized\npcmk-2: Authorized\n"


def test_host_deauth_forgets_and_revokes(env: dict[str, Any]) -> None:
    kh = KnownHosts()
    for n in ("a", "b"):
        kh.put(KnownHost(n, f"tok-{n}", (Dest(n),)))
    kh.save(env["tmp"] / "known-hosts")
    env["transport"] = FakeTransport({"a": (200, {"success": True})})
    r = run("host", "deauth", "a")
    assert r.exit_code == 0 and r.output == "a: Deauthorized\n"
    assert set(KnownHosts.load(env["tmp"] / "known-hosts").hosts) == {"b"}
    assert env["transport"].requests[0][2:4] == ("/api/v1/deauth", "tok-a")
    r = run("host", "deauth", "zzz")
    assert r.exit_code == 1 and "host 'zzz' is not known" in r.output


def test_pcsd_deauth_revokes_local_tokens(env: dict[str, Any]) -> None:
    store = TokenStore(env["tmp"] / "api" / "tokens.json")
    t1, t2 = store.issue("hacluster"), store.issue("hacluster")
    r = run("pcsd", "deauth", t1)
    assert r.exit_code == 0
    assert store.lookup(t1) is None and store.lookup(t2) is not None
    r = run("pcsd", "deauth", "unknown-token")
    assert r.exit_code == 1 and r.output.startswith("Error: ")
    r = run("pcsd", "deauth")
    assert r.exit_code == 0 and len(store) == 0


def test_pcsd_status(env: dict[str, Any]) -> None:
    kh = KnownHosts()
    kh.put(KnownHost("a", "tok", (Dest("a"),)))
    kh.save(env["tmp"] / "known-hosts")
    env["transport"] = FakeTransport({"a": (200, {"success": True})})
    r = run("pcsd", "status", "a", "b")
    assert r.output == "a: Online\nb: Unauthorized\n"
    assert r.exit_code == 1
    r = run("pcsd", "status", "a")
    assert r.exit_code == 0


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["n1"], {"n1": Dest("n1")}),
        (["n1", "addr=10.0.0.1"], {"n1": Dest("10.0.0.1")}),
        (["n1", "addr=10.0.0.1:3000", "n2"], {"n1": Dest("10.0.0.1", 3000), "n2": Dest("n2")}),
        (["n1", "addr=[2001:db8::1]:3000"], {"n1": Dest("2001:db8::1", 3000)}),
        (["n1", "addr=2001:db8::1"], {"n1": Dest("2001:db8::1")}),
    ],
)
def test_parse_host_args(args: list[str], expected: dict[str, Dest]) -> None:
    assert host_cli.parse_host_args(args) == expected


@pytest.mark.parametrize("args", [["addr=1.2.3.4"], ["n1", "addr="], ["n1", "addr=h:99999"]])
def test_parse_host_args_errors(args: list[str]) -> None:
    with pytest.raises(UsageError):
        host_cli.parse_host_args(args)


def test_host_deauth_in_a_cluster_removes_the_tokens_on_every_node(env: dict[str, Any]) -> None:
    conf = env["tmp"] / "corosync" / "corosync.conf"
    conf.parent.mkdir()
    conf.write_text("nodelist {\n node {\n  name: a\n }\n node {\n  name: b\n }\n}\n")
    kh = KnownHosts()
    for n in ("a", "b"):
        kh.put(KnownHost(n, f"tok-{n}", (Dest(n),)))
    kh.save(env["tmp"] / "known-hosts")
    env["transport"] = FakeTransport({"a": (200, {"success": True}), "b": (200, {"success": True})})
    r = run("host", "deauth", "b")
    assert r.exit_code == 0, r.output
    removals = sorted((q[1], q[3]) for q in env["transport"].requests if q[2] == "/api/v1/known-hosts")
    assert removals == [("a", "tok-a"), ("b", "tok-b")]
    assert all(q[4] == {"remove": ["b"]} for q in env["transport"].requests
               if q[2] == "/api/v1/known-hosts")
    assert set(KnownHosts.load(env["tmp"] / "known-hosts").hosts) == {"a"}
