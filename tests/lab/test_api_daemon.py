"""The real tandemd-api over TLS on loopback: auth, tokens, bad input, fuzz, real PAM, logs.

Each test daemon runs in a temporary state directory on a random high port
of 127.0.0.1, with a password-file authenticator (so no system password is
touched) and a harmless stand-in for ``tandem cluster ACTION`` that records
its arguments.  One test exercises real PAM with a throwaway account that it
creates (``useradd``, ``chpasswd``) and always deletes.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import secrets
import signal
import socket
import ssl
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tandem import demo
from tandem.api.auth import write_password_file

pytestmark = pytest.mark.lab

VENV_BIN = Path(sys.executable).parent
PASSWORD = "lab-" + secrets.token_hex(8)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Daemon:
    proc: subprocess.Popen[bytes]
    port: int
    root: Path
    log: Path
    env: dict[str, str]

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        token: str | None = None,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=ctx, timeout=10)
        hdrs = {"Content-Type": "application/json", **(headers or {})}
        if token:
            hdrs["Authorization"] = f"Bearer {token}"
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        try:
            conn.request(method, path, body=data, headers=hdrs)
            resp = conn.getresponse()
            text = resp.read()
        finally:
            conn.close()
        try:
            return resp.status, json.loads(text)
        except ValueError:
            return resp.status, text

    def login(self, password: str = PASSWORD) -> tuple[int, Any]:
        return self.request("POST", "/api/v1/auth", {"username": "hacluster", "password": password})

    def token(self) -> str:
        status, body = self.login()
        assert status == 200, body
        return body["token"]

    def tandem(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(VENV_BIN / "tandem"), *args],
            capture_output=True,
            text=True,
            env=self.env,
            timeout=60,
        )


def start_daemon(root: Path, *extra: str, port: int | None = None) -> Daemon:
    root.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    pw = root / "passwords.json"
    write_password_file(pw, {"hacluster": PASSWORD})
    fake = root / "fake-tandem"
    fake.write_text(f'#!/bin/sh\necho "$@" >> {root}/actions.log\necho "did $*"\n')
    fake.chmod(0o755)
    log = root / "daemon.log"
    env = {
        **os.environ,
        "TANDEM_KNOWN_HOSTS": str(root / "client/known-hosts"),
        "TANDEM_API_STATE_DIR": str(root / "state"),
        "TANDEM_API_PIDFILE": str(root / "run/tandemd-api.pid"),
        "TANDEM_API_ENABLED_MARKER": str(root / "etc/enabled/api"),
        "TANDEM_COROSYNC_DIR": str(root / "corosync"),
        "TANDEM_API_PORT": str(port),
    }
    args = [
        str(VENV_BIN / "tandemd-api"),
        "--bind",
        "127.0.0.1",
        "--port",
        str(port),
        "--node-name",
        "localhost",
        "--tandem-command",
        str(fake),
        "--log-file",
        str(log),
        "--no-create-user",
    ]
    if not any(a.startswith("--auth-backend") for a in extra):
        args += ["--auth-backend", f"file:{pw}"]
    proc = subprocess.Popen(
        [*args, *extra], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    d = Daemon(proc, port, root, log, env)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if log.exists() and "listening on" in log.read_text():
            return d
        if proc.poll() is not None:
            raise AssertionError(f"tandemd-api exited: {log.read_text() if log.exists() else ''}")
        time.sleep(0.05)
    stop_daemon(d)
    raise AssertionError("tandemd-api did not start listening")


def stop_daemon(d: Daemon) -> None:
    if d.proc.poll() is None:
        d.proc.send_signal(signal.SIGTERM)
        try:
            d.proc.wait(10)
        except subprocess.TimeoutExpired:
            d.proc.kill()
            d.proc.wait()


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Daemon]:
    d = start_daemon(tmp_path)
    try:
        yield d
    finally:
        stop_daemon(d)


def test_tls_with_a_self_signed_certificate_and_private_files(daemon: Daemon) -> None:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with (
        socket.create_connection(("127.0.0.1", daemon.port), 5) as raw,
        ctx.wrap_socket(raw) as tls,
    ):
        assert tls.version() in ("TLSv1.2", "TLSv1.3")
        assert tls.getpeercert(binary_form=True)
    # plain HTTP is not served
    with socket.create_connection(("127.0.0.1", daemon.port), 5) as raw:
        raw.sendall(b"GET /api/v1/openapi.json HTTP/1.0\r\n\r\n")
        raw.settimeout(5)
        with contextlib.suppress(OSError):
            assert b"openapi" not in raw.recv(4096)
    state = daemon.root / "state"
    assert stat.S_IMODE((state / "tandemd-api.key").stat().st_mode) == 0o600
    daemon.token()
    assert stat.S_IMODE((state / "tokens.json").stat().st_mode) == 0o600


def test_host_auth_cli_good_and_bad_password(daemon: Daemon) -> None:
    addr = f"addr=127.0.0.1:{daemon.port}"
    bad = daemon.tandem("host", "auth", "localhost", addr, "-u", "hacluster", "-p", "nope")
    assert bad.returncode == 1
    assert bad.stderr.count("\n") == 1 and bad.stderr.startswith("Error: ")
    assert "401" in bad.stderr
    kh = daemon.root / "client/known-hosts"
    assert not kh.exists()
    good = daemon.tandem("host", "auth", "localhost", addr, "-u", "hacluster", "-p", PASSWORD)
    assert good.returncode == 0, good.stderr
    assert good.stdout == "localhost: Authorized\n"
    assert stat.S_IMODE(kh.stat().st_mode) == 0o600
    token = json.loads(kh.read_text())["known_hosts"]["localhost"]["token"]
    assert daemon.request("GET", "/api/v1/check-auth", token=token)[0] == 200
    st_ = daemon.tandem("pcsd", "status", "localhost")
    assert st_.stdout == "localhost: Online\n", st_.stderr


def test_every_call_but_login_needs_a_token(daemon: Daemon) -> None:
    for method, path in [
        ("GET", "/api/v1/check-auth"),
        ("GET", "/api/v1/status"),
        ("POST", "/api/v1/cluster/start"),
        ("POST", "/api/v1/cluster/setup"),
    ]:
        for token in (None, "forged-" + secrets.token_urlsafe(32)):
            status, body = daemon.request(method, path, {}, token=token)
            assert status == 401, (method, path, body)
            assert body["reports"][0]["code"] == "NOT_AUTHORIZED"
    assert not (daemon.root / "actions.log").exists()
    assert daemon.request("GET", "/api/v1/openapi.json")[0] == 200


def test_revoked_tokens_are_refused(daemon: Daemon) -> None:
    addr = f"addr=127.0.0.1:{daemon.port}"
    assert daemon.tandem("host", "auth", "localhost", addr, "-p", PASSWORD).returncode == 0
    kh = daemon.root / "client/known-hosts"
    token = json.loads(kh.read_text())["known_hosts"]["localhost"]["token"]
    r = daemon.tandem("host", "deauth", "localhost")
    assert r.returncode == 0, r.stderr
    assert daemon.request("GET", "/api/v1/check-auth", token=token)[0] == 401
    assert json.loads(kh.read_text())["known_hosts"] == {}
    # pcsd deauth: revoke everything this node accepts, the running daemon obeys at once
    t2 = daemon.token()
    assert daemon.request("GET", "/api/v1/check-auth", token=t2)[0] == 200
    assert daemon.tandem("pcsd", "deauth").returncode == 0
    assert daemon.request("GET", "/api/v1/check-auth", token=t2)[0] == 401


def test_bad_input_is_4xx_and_the_daemon_keeps_serving(daemon: Daemon) -> None:
    token = daemon.token()
    cases = [
        ("POST", "/api/v1/auth", b"x" * 200_000, 413),
        ("POST", "/api/v1/auth", b'{"username": "hacluster", "password"', 400),
        (
            "POST",
            "/api/v1/auth",
            b'{"username": "hacluster", "password": "x", "role": "admin"}',
            400,
        ),
        (
            "POST",
            "/api/v1/cluster/setup",
            json.dumps(
                {
                    "cluster_name": "../../etc",
                    "corosync_conf": "totem {}",
                    "authkey": "a2V5a2V5a2V5a2V5a2V5a2V5",
                }
            ).encode(),
            400,
        ),
        ("POST", "/api/v1/cluster/..%2F..%2Fbin%2Fsh", b"{}", 404),
        ("POST", "/api/v1/cluster/start", b'{"timeout": "forever"}', 400),
    ]
    for method, path, raw, expected in cases:
        status, body = daemon.request(method, path, raw=raw, token=token)
        assert status == expected, (path, raw[:60], body)
        assert body["reports"][0]["message"] and b"Traceback" not in json.dumps(body).encode()
    assert not (daemon.root / "corosync").exists()
    assert not (daemon.root / "actions.log").exists()
    assert daemon.request("GET", "/api/v1/check-auth", token=token)[0] == 200
    assert "Traceback" not in daemon.log.read_text()


def test_remote_setup_and_actions_through_the_client(daemon: Daemon, monkeypatch: Any) -> None:
    from tandem.api.client import distribute_cluster_config, remote_cluster_action
    from tandem.api.storage import Dest, KnownHost, KnownHosts

    kh = KnownHosts()
    kh.put(KnownHost("localhost", daemon.token(), (Dest("127.0.0.1", daemon.port),)))
    res = distribute_cluster_config(
        ["localhost"], "mycluster", "totem {\n}\n", b"k" * 256, known_hosts=kh
    )
    assert res["localhost"].ok, res
    conf, key = daemon.root / "corosync/corosync.conf", daemon.root / "corosync/authkey"
    assert conf.read_text() == "totem {\n}\n" and key.read_bytes() == b"k" * 256
    assert stat.S_IMODE(key.stat().st_mode) == 0o400
    assert stat.S_IMODE(conf.stat().st_mode) == 0o644
    res = remote_cluster_action(["localhost"], "start", 30, kh)
    assert res["localhost"].ok and res["localhost"].message == "did cluster start"
    assert (daemon.root / "actions.log").read_text() == "cluster start\n"


def test_pcsd_status_offline_and_unauthorized(daemon: Daemon) -> None:
    """A node that accepts TCP but never answers TLS, one that refuses, one with a bad token."""
    from tandem.api.client import pcsd_status
    from tandem.api.storage import Dest, KnownHost, KnownHosts

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # never accepted: the handshake hangs, like a crashed node's daemon
    closed_port = free_port()
    kh = KnownHosts()
    kh.put(KnownHost("up", daemon.token(), (Dest("127.0.0.1", daemon.port),)))
    kh.put(KnownHost("hung", "t", (Dest("127.0.0.1", silent.getsockname()[1]),)))
    kh.put(KnownHost("refused", "t", (Dest("127.0.0.1", closed_port),)))
    kh.put(KnownHost("badtoken", "t", (Dest("127.0.0.1", daemon.port),)))
    try:
        result = pcsd_status(["up", "hung", "refused", "badtoken", "unknown"], 2.0, kh)
    finally:
        silent.close()
    assert result == {
        "up": "Online",
        "hung": "Offline",
        "refused": "Offline",
        "badtoken": "Unauthorized",
        "unknown": "Unauthorized",
    }


def test_daemon_status_line(daemon: Daemon) -> None:
    from tandem.api.paths import ApiPaths
    from tandem.api.status import daemon_status_line

    paths = ApiPaths.under(daemon.root / "x")
    paths = ApiPaths(
        paths.state_dir,
        paths.known_hosts,
        daemon.root / "etc/enabled/api",
        daemon.root / "run/tandemd-api.pid",
        paths.corosync_dir,
    )
    assert daemon_status_line(paths, port=1) == "  tandemd-api: active/disabled"
    paths.enabled_marker.parent.mkdir(parents=True)
    paths.enabled_marker.touch()
    assert daemon_status_line(paths, port=1) == "  tandemd-api: active/enabled"
    stop_daemon(daemon)
    assert daemon_status_line(paths, port=1) == "  tandemd-api: inactive/enabled"


def test_no_secret_in_the_log(daemon: Daemon) -> None:
    daemon.login("a-wrong-" + PASSWORD)
    token = daemon.token()
    daemon.request(
        "POST",
        "/api/v1/cluster/setup",
        {"cluster_name": "c", "corosync_conf": "totem {}", "authkey": "c2VjcmV0a2V5c2VjcmV0a2V5"},
        token=token,
    )
    daemon.request("POST", "/api/v1/deauth", {}, token=token)
    stop_daemon(daemon)
    text = daemon.log.read_text()
    assert "login accepted" in text and "login refused" in text
    for secret in (PASSWORD, token, "c2VjcmV0a2V5c2VjcmV0a2V5"):
        assert secret not in text


def test_metrics_open_without_token(daemon: Daemon) -> None:
    status, body = daemon.request("GET", "/metrics")
    assert status == 200


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    path=st.sampled_from(
        [
            "/api/v1/auth",
            "/api/v1/cluster/setup",
            "/api/v1/cluster/stop",
            "/api/v1/deauth",
            "/api/v1/check-auth",
            "/api/v1/known-hosts",
            "/api/v1/cluster/start",
        ]
    ),
    body=st.dictionaries(
        st.sampled_from(
            ["username", "password", "cluster_name", "corosync_conf", "authkey", "force",
             "timeout", "wait", "only", "known_hosts", "remove"]
        )
        | st.text(max_size=8),
        st.none() | st.booleans() | st.integers() | st.text(max_size=30)
        | st.lists(st.integers() | st.text(max_size=8), max_size=3)
        | st.dictionaries(st.text(max_size=8), st.text(max_size=8) | st.integers(), max_size=3),
        max_size=5,
    ),
)
def test_fuzz_over_tls(fuzz_daemon: Daemon, path: str, body: dict) -> None:
    token = None if path.endswith("deauth") else fuzz_daemon.fuzz_token  # type: ignore[attr-defined]
    status, answer = fuzz_daemon.request("POST", path, body, token=token)
    assert status < 500, answer
    if status >= 400:
        assert answer["reports"][0]["message"]


@pytest.fixture(scope="module")
def fuzz_daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    d = start_daemon(tmp_path_factory.mktemp("fuzz"))
    d.fuzz_token = d.token()  # type: ignore[attr-defined]
    try:
        yield d
        assert d.request("GET", "/api/v1/check-auth", token=d.fuzz_token)[0] == 200  # type: ignore[attr-defined]
        assert "Traceback" not in d.log.read_text()
    finally:
        stop_daemon(d)


# --------------------------------------------------------------------------- real PAM


@pytest.fixture
def throwaway_admin() -> Iterator[tuple[str, str]]:
    """A temporary member of haclient with a random password; always deleted afterwards."""
    if os.geteuid() != 0:
        pytest.fail("lab tests run as root")
    with demo.throwaway_admin("tdmtest") as account:
        yield account


def test_real_pam_login(tmp_path: Path, throwaway_admin: tuple[str, str]) -> None:
    user, password = throwaway_admin
    d = start_daemon(tmp_path, "--auth-backend", "pam")
    try:
        ok = d.request("POST", "/api/v1/auth", {"username": user, "password": password})
        assert ok[0] == 200, ok
        bad = d.request("POST", "/api/v1/auth", {"username": user, "password": password + "x"})
        assert bad[0] == 401
        # a real account outside haclient is refused even with the right password
        nobody = d.request("POST", "/api/v1/auth", {"username": "root", "password": "x"})
        assert nobody[0] == 401
    finally:
        stop_daemon(d)
    assert password not in d.log.read_text()


def test_repeated_wrong_passwords_lock_the_address_out(daemon: Daemon) -> None:
    for _ in range(5):
        assert daemon.login("guess-" + secrets.token_hex(4))[0] == 401
    status, body = daemon.login()  # right password, but locked out for a while
    assert status == 429 and body["reports"][0]["code"] == "TOO_MANY_FAILURES"
    assert not (daemon.root / "state/tokens.json").exists()


def test_a_changed_certificate_is_refused_until_host_auth_again(daemon: Daemon) -> None:
    addr = f"addr=127.0.0.1:{daemon.port}"
    assert daemon.tandem("host", "auth", "localhost", addr, "-p", PASSWORD).returncode == 0
    kh = json.loads((daemon.root / "client/known-hosts").read_text())
    pin = kh["known_hosts"]["localhost"]["cert_sha256"]
    assert len(pin) == 64
    assert daemon.tandem("pcsd", "status", "localhost").stdout == "localhost: Online\n"
    # someone else answers on that address with another certificate (same tokens file)
    stop_daemon(daemon)
    for name in ("tandemd-api.crt", "tandemd-api.key"):
        (daemon.root / "state" / name).unlink()
    daemon.log.rename(daemon.root / "daemon.log.1")
    other = start_daemon(daemon.root, port=daemon.port)
    try:
        st = other.tandem("pcsd", "status", "localhost")
        assert st.stdout == "localhost: Unauthorized\n"
        # the token was not even sent: the server saw no check-auth request
        assert "check-auth" not in other.log.read_text()
        assert other.tandem("host", "auth", "localhost", addr, "-p", PASSWORD).returncode == 0
        assert other.tandem("pcsd", "status", "localhost").stdout == "localhost: Online\n"
        new = json.loads((daemon.root / "client/known-hosts").read_text())
        assert new["known_hosts"]["localhost"]["cert_sha256"] not in (pin, None)
    finally:
        stop_daemon(other)
