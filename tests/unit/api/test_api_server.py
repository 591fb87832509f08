"""The HTTP application with fakes: authentication, bad input, remote operations, logging."""

from __future__ import annotations

import base64
import logging
import stat
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from conftest import PASSWORD, ApiHarness

from tandem.api.runner import CommandResult
from tandem.api.server import openapi_document

AUTH = "/api/v1/auth"


async def login(client: TestClient, password: str = PASSWORD) -> tuple[int, Any]:
    resp = await client.post(AUTH, json={"username": "hacluster", "password": password})
    return resp.status, await resp.json()


async def token_of(client: TestClient) -> dict[str, str]:
    status, body = await login(client)
    assert status == 200
    return {"Authorization": f"Bearer {body['token']}"}


def codes(body: dict[str, Any]) -> list[str]:
    return [r["code"] for r in body["reports"]]


def test_login_issues_a_token_that_check_auth_accepts(harness: ApiHarness) -> None:
    async def go(client: TestClient) -> None:
        headers = await token_of(client)
        resp = await client.get("/api/v1/check-auth", headers=headers)
        assert resp.status == 200
        assert (await resp.json())["success"] is True

    harness.run(go)
    assert len(harness.tokens) == 1


def test_wrong_password_is_401_and_issues_nothing(harness: ApiHarness) -> None:
    async def go(client: TestClient) -> None:
        status, body = await login(client, "wrong")
        assert status == 401
        assert codes(body) == ["AUTH_FAILED"]
        assert "token" not in body

    harness.run(go)
    assert len(harness.tokens) == 0
    assert not harness.paths.tokens.exists()


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic abc"}],
    ids=["missing", "unknown", "wrong-scheme"],
)
@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/api/v1/check-auth"), ("GET", "/api/v1/status"), ("POST", "/api/v1/cluster/start"),
     ("POST", "/api/v1/cluster/setup"), ("POST", "/api/v1/deauth")],
)
def test_every_endpoint_but_login_needs_a_valid_token(
    harness: ApiHarness, headers: dict[str, str], method: str, path: str
) -> None:
    async def go(client: TestClient) -> None:
        resp = await client.request(method, path, headers=headers, json={})
        assert resp.status == 401
        assert codes(await resp.json()) == ["NOT_AUTHORIZED"]

    harness.run(go)
    assert harness.runner.calls == []
    assert not (harness.paths.corosync_dir / "corosync.conf").exists()


def test_revoked_token_is_refused(harness: ApiHarness) -> None:
    async def go(client: TestClient) -> None:
        headers = await token_of(client)
        other = await token_of(client)
        resp = await client.post("/api/v1/deauth", headers=headers, json={})
        assert resp.status == 200
        assert (await client.get("/api/v1/check-auth", headers=headers)).status == 401
        # only the caller's own token is revoked
        assert (await client.get("/api/v1/check-auth", headers=other)).status == 200

    harness.run(go)


def test_token_revoked_in_the_file_is_refused_at_once(harness: ApiHarness) -> None:
    """``tandem pcsd deauth`` edits the file; the running daemon must notice."""

    async def go(client: TestClient) -> None:
        headers = await token_of(client)
        from tandem.api.storage import TokenStore

        TokenStore(harness.paths.tokens).revoke_all()
        assert (await client.get("/api/v1/check-auth", headers=headers)).status == 401

    harness.run(go)


def test_cookie_token_is_accepted(harness: ApiHarness) -> None:
    async def go(client: TestClient) -> None:
        _, body = await login(client)
        resp = await client.get("/api/v1/check-auth", cookies={"token": body["token"]})
        assert resp.status == 200

    harness.run(go)


def test_request_over_the_size_limit_is_413(tmp_path: Any) -> None:
    h = ApiHarness(tmp_path, max_request_size=1024)

    async def go(client: TestClient) -> None:
        big = {"username": "hacluster", "password": "x" * 2000}
        resp = await client.post(AUTH, json=big)
        assert resp.status == 413
        assert codes(await resp.json()) == ["REQUEST_TOO_LARGE"]
        # the daemon keeps serving
        assert (await login(client))[0] == 200

    h.run(go)
    assert h.auth.calls == ["hacluster"]  # the oversized request never reached PAM


def test_chunked_request_over_the_limit_is_413(tmp_path: Any) -> None:
    h = ApiHarness(tmp_path, max_request_size=1024)

    async def chunks() -> Any:
        for _ in range(10):
            yield b"x" * 512

    async def go(client: TestClient) -> None:
        resp = await client.post(AUTH, data=chunks())
        assert resp.status == 413

    h.run(go)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b'{"username": "hacluster", ', "MALFORMED_JSON"),
        (b"[1, 2]", "MALFORMED_JSON"),
        (b"\xff\xfe", "MALFORMED_JSON"),
        (b'{"username": "hacluster", "password": "p", "admin": true}', "UNKNOWN_FIELD"),
        (b'{"username": "hacluster"}', "MISSING_FIELD"),
        (b'{"username": 5, "password": "p"}', "INVALID_FIELD"),
    ],
)
def test_bad_login_bodies_are_400(harness: ApiHarness, body: bytes, code: str) -> None:
    async def go(client: TestClient) -> None:
        resp = await client.post(AUTH, data=body, headers={"Content-Type": "application/json"})
        assert resp.status == 400
        data = await resp.json()
        assert code in codes(data)
        assert "Traceback" not in str(data)

    harness.run(go)
    assert harness.auth.calls == []
    assert len(harness.tokens) == 0


def _setup_body(**over: Any) -> dict[str, Any]:
    body = {
        "cluster_name": "mycluster",
        "corosync_conf": "totem {\n    cluster_name: mycluster\n}\n",
        "authkey": base64.b64encode(b"k" * 128).decode(),
    }
    body.update(over)
    return body


def test_setup_writes_corosync_conf_0644_and_authkey_0400(harness: ApiHarness) -> None:
    async def go(client: TestClient) -> None:
        resp = await client.post(
            "/api/v1/cluster/setup", json=_setup_body(), headers=await token_of(client)
        )
        assert resp.status == 200, await resp.text()

    harness.run(go)
    conf = harness.paths.corosync_dir / "corosync.conf"
    key = harness.paths.corosync_dir / "authkey"
    assert conf.read_text() == _setup_body()["corosync_conf"]
    assert key.read_bytes() == b"k" * 128
    assert stat.S_IMODE(conf.stat().st_mode) == 0o644
    assert stat.S_IMODE(key.stat().st_mode) == 0o400


def test_setup_refuses_to_overwrite_another_cluster_without_force(harness: ApiHarness) -> None:
    conf = harness.paths.corosync_dir / "corosync.conf"
    conf.parent.mkdir(parents=True)
    conf.write_text("totem { cluster_name: other }\n")

    async def go(client: TestClient) -> None:
        headers = await token_of(client)
        resp = await client.post("/api/v1/cluster/setup", json=_setup_body(), headers=headers)
        assert resp.status == 409
        assert codes(await resp.json()) == ["NODE_IN_CLUSTER"]
        assert conf.read_text() == "totem { cluster_name: other }\n"
        resp = await client.post(
            "/api/v1/cluster/setup", json=_setup_body(force=True), headers=headers
        )
        assert resp.status == 200

    harness.run(go)
    assert "mycluster" in conf.read_text()


@pytest.mark.parametrize(
    "over",
    [
        {"cluster_name": "../../etc"},
        {"cluster_name": "a/b"},
        {"cluster_name": ".."},
        {"cluster_name": ""},
        {"authkey": "not base64!!"},
        {"authkey": base64.b64encode(b"short").decode()},
        {"corosync_conf": "quorum {}"}, {"corosync_conf": "totem {}\x00"},
        {"nodes": ["pcmk-1"]},
    ],
)
def test_setup_rejects_bad_input_and_writes_nothing(harness: ApiHarness, over: dict) -> None:
    async def go(client: TestClient) -> None:
        resp = await client.post(
            "/api/v1/cluster/setup", json=_setup_body(**over), headers=await token_of(client)
        )
        assert resp.status == 400
        assert (await resp.json())["reports"][0]["message"]

    harness.run(go)
    assert not harness.paths.corosync_dir.exists()


def test_cluster_action_runs_the_local_command(harness: ApiHarness) -> None:
    async def go(client: TestClient) -> dict[str, Any]:
        resp = await client.post(
            "/api/v1/cluster/stop", json={"timeout": 30}, headers=await token_of(client)
        )
        assert resp.status == 200
        return await resp.json()

    data = harness.run(go)
    assert harness.runner.calls == [(["/fake/tandem", "cluster", "stop"], 30.0)]
    assert data["success"] is True and data["action"] == "stop"


def test_failed_cluster_action_reports_the_error_without_5xx(harness: ApiHarness) -> None:
    harness.runner.result = CommandResult(1, "", "Error: corosync.conf missing\n")

    async def go(client: TestClient) -> dict[str, Any]:
        resp = await client.post("/api/v1/cluster/start", json={}, headers=await token_of(client))
        assert resp.status == 200
        return await resp.json()

    data = harness.run(go)
    assert data["success"] is False and "corosync.conf missing" in data["stderr"]


@pytest.mark.parametrize(
    "path", ["/api/v1/cluster/destroy", "/api/v1/cluster/..%2F..%2Fetc", "/api/v1/../../etc/passwd"]
)
def test_unknown_action_or_traversal_is_404(harness: ApiHarness, path: str) -> None:
    async def go(client: TestClient) -> None:
        resp = await client.post(path, json={}, headers=await token_of(client))
        assert resp.status in (400, 404)
        assert (await resp.json())["reports"]

    harness.run(go)
    assert harness.runner.calls == []


def test_action_timeout_out_of_range_is_400(harness: ApiHarness) -> None:
    async def go(client: TestClient) -> None:
        headers = await token_of(client)
        for bad in (-1, 0, 10_000, True, "5"):
            resp = await client.post("/api/v1/cluster/start", json={"timeout": bad}, headers=headers)
            assert resp.status == 400, bad

    harness.run(go)
    assert harness.runner.calls == []


def test_internal_error_is_a_json_500_and_the_daemon_keeps_serving(harness: ApiHarness) -> None:
    class Exploding:
        def authenticate(self, username: str, password: str) -> bool:
            raise RuntimeError("libpam exploded")

    good = harness.api.authenticator
    harness.api.authenticator = Exploding()

    async def go(client: TestClient) -> None:
        resp = await client.post(AUTH, json={"username": "hacluster", "password": "x"})
        assert resp.status == 500
        body = await resp.json()
        assert codes(body) == ["INTERNAL_ERROR"]
        assert "libpam exploded" not in str(body) and "Traceback" not in str(body)
        harness.api.authenticator = good
        assert (await login(client))[0] == 200

    harness.run(go)


def test_openapi_is_public_and_describes_the_bodies(harness: ApiHarness) -> None:
    async def go(client: TestClient) -> dict[str, Any]:
        resp = await client.get("/api/v1/openapi.json")
        assert resp.status == 200
        return await resp.json()

    doc = harness.run(go)
    assert doc == openapi_document()
    auth = doc["paths"][AUTH]["post"]
    assert auth["security"] == []
    schema = auth["requestBody"]["content"]["application/json"]["schema"]
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == {"username", "password"}


def test_metrics_open_by_default_and_token_protected_on_request(tmp_path: Any) -> None:
    async def get(client: TestClient, headers: dict[str, str] | None = None) -> int:
        return (await client.get("/metrics", headers=headers or {})).status

    open_h = ApiHarness(tmp_path / "a")
    assert open_h.run(get) == 200
    closed = ApiHarness(tmp_path / "b", metrics_require_token=True)

    async def go(client: TestClient) -> None:
        assert await get(client) == 401
        assert await get(client, await token_of(client)) == 200

    closed.run(go)


def test_no_secret_is_logged(harness: ApiHarness, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    seen: dict[str, str] = {}

    async def go(client: TestClient) -> None:
        await login(client, "wrong-secret-password")
        _, body = await login(client)
        seen["token"] = body["token"]
        headers = {"Authorization": f"Bearer {body['token']}"}
        await client.post("/api/v1/cluster/setup", json=_setup_body(), headers=headers)
        await client.post("/api/v1/cluster/start", json={}, headers=headers)
        await client.post("/api/v1/deauth", json={}, headers=headers)

    harness.run(go)
    text = caplog.text
    assert "login accepted" in text and "login refused" in text  # logging did happen
    authkey = _setup_body()["authkey"]
    for secret in (PASSWORD, "wrong-secret-password", seen["token"], authkey):
        assert secret not in text
    assert seen["token"] not in harness.paths.tokens.read_text()  # stored as a digest


def test_setup_merges_the_cluster_known_hosts(harness: ApiHarness) -> None:
    entries = {
        "pcmk-1": {"dest_list": [{"addr": "192.0.2.101", "port": 2224}], "token": "T1"},
        "pcmk-2": {"dest_list": [{"addr": "pcmk-2", "port": 2224}], "token": "T2",
                   "cert_sha256": "ab" * 32},
    }

    async def go(client: TestClient) -> None:
        resp = await client.post(
            "/api/v1/cluster/setup", json=_setup_body(known_hosts=entries),
            headers=await token_of(client),
        )
        assert resp.status == 200, await resp.text()

    harness.run(go)
    from tandem.api.storage import KnownHosts

    kh = KnownHosts.load(harness.paths.known_hosts)
    assert kh.to_dict()["known_hosts"] == entries


@pytest.mark.parametrize(
    "entries",
    [
        {"../x": {"dest_list": [{"addr": "a", "port": 1}], "token": "t"}},
        {"n": {"dest_list": [{"addr": "a/../b", "port": 1}], "token": "t"}},
        {"n": {"dest_list": [{"addr": "a", "port": 0}], "token": "t"}},
        {"n": {"dest_list": [{"addr": "a", "port": 1}], "token": ""}},
        {"n": {"dest_list": [], "token": "t"}},
        {"n": {"dest_list": [{"addr": "a", "port": 1}], "token": "t", "extra": 1}},
        {"n": "not an object"},
        {"n": {"dest_list": [{"addr": "a", "port": 1}], "token": "t", "cert_sha256": "zz"}},
    ],
)
def test_known_hosts_endpoint_rejects_bad_entries(harness: ApiHarness, entries: dict) -> None:
    async def go(client: TestClient) -> None:
        resp = await client.post(
            "/api/v1/known-hosts", json={"known_hosts": entries}, headers=await token_of(client)
        )
        assert resp.status == 400

    harness.run(go)
    assert not harness.paths.known_hosts.exists()


def test_known_hosts_endpoint_merges(harness: ApiHarness) -> None:
    async def go(client: TestClient) -> None:
        headers = await token_of(client)
        for name, tok in (("a", "1"), ("b", "2"), ("a", "3")):
            entry = {name: {"dest_list": [{"addr": name, "port": 2224}], "token": tok}}
            resp = await client.post("/api/v1/known-hosts", json={"known_hosts": entry},
                                     headers=headers)
            assert resp.status == 200

    harness.run(go)
    from tandem.api.storage import KnownHosts

    kh = KnownHosts.load(harness.paths.known_hosts)
    assert {n: h.token for n, h in kh.hosts.items()} == {"a": "3", "b": "2"}


@pytest.mark.parametrize(
    ("action", "body", "tail"),
    [
        ("start", {"wait": 60}, ["cluster", "start", "--wait=60"]),
        ("stop", {"only": "tandemd"}, ["cluster", "stop", "--only", "tandemd"]),
        ("stop", {"only": "corosync"}, ["cluster", "stop", "--only", "corosync"]),
    ],
)
def test_action_options(harness: ApiHarness, action: str, body: dict, tail: list[str]) -> None:
    async def go(client: TestClient) -> None:
        resp = await client.post(f"/api/v1/cluster/{action}", json=body,
                                 headers=await token_of(client))
        assert resp.status == 200

    harness.run(go)
    assert harness.runner.calls[0][0] == ["/fake/tandem", *tail]


@pytest.mark.parametrize(
    ("action", "body"),
    [("stop", {"wait": 5}), ("start", {"only": "tandemd"}), ("stop", {"only": "; rm -rf /"})],
)
def test_action_options_misplaced_are_400(harness: ApiHarness, action: str, body: dict) -> None:
    async def go(client: TestClient) -> None:
        resp = await client.post(f"/api/v1/cluster/{action}", json=body,
                                 headers=await token_of(client))
        assert resp.status == 400

    harness.run(go)
    assert harness.runner.calls == []


def test_repeated_failed_logins_are_throttled(tmp_path: Any) -> None:
    from tandem.api.server import LoginThrottle

    now = [100.0]
    h = ApiHarness(tmp_path, LoginThrottle(max_failures=3, window=60, clock=lambda: now[0]))

    async def go(client: TestClient) -> None:
        for _ in range(3):
            assert (await login(client, "guess"))[0] == 401
        status, body = await login(client)  # even the right password is refused now
        assert status == 429 and codes(body) == ["TOO_MANY_FAILURES"]
        assert h.auth.calls == ["hacluster"] * 3  # PAM was not asked again
        now[0] += 61
        assert (await login(client))[0] == 200

    h.run(go)


def test_throttle_forgets_old_failures_and_successes_reset() -> None:
    from tandem.api.server import LoginThrottle

    now = [0.0]
    t = LoginThrottle(max_failures=2, window=10, clock=lambda: now[0])
    t.failed("a")
    now[0] = 11
    t.failed("a")
    assert t.blocked_for("a") == 0  # the first failure is too old to count
    t.failed("a")
    assert t.blocked_for("a") == 10
    assert t.blocked_for("b") == 0  # per address
    t.succeeded("a")
    assert t.blocked_for("a") == 0


@pytest.mark.parametrize(("probe", "expected"), [(lambda: True, True), (lambda: False, False),
                                                 (lambda: 1 / 0, None), (None, None)])
def test_status_reports_whether_the_cluster_runs(harness: ApiHarness, probe: Any,
                                                 expected: bool | None) -> None:
    harness.api.cluster_probe = probe

    async def go(client: TestClient) -> dict[str, Any]:
        resp = await client.get("/api/v1/status", headers=await token_of(client))
        assert resp.status == 200
        return await resp.json()

    data = harness.run(go)
    assert data["cluster_running"] is expected and data["node"] == "pcmk-1"


def test_known_hosts_endpoint_removes(harness: ApiHarness) -> None:
    from tandem.api.storage import Dest, KnownHost, KnownHosts

    kh = KnownHosts()
    for n in ("a", "b"):
        kh.put(KnownHost(n, "t", (Dest(n),)))
    kh.save(harness.paths.known_hosts)

    async def go(client: TestClient) -> None:
        headers = await token_of(client)
        resp = await client.post("/api/v1/known-hosts", json={"remove": ["a", "zz"]},
                                 headers=headers)
        assert resp.status == 200
        for bad in ({}, {"remove": ["../etc"]}, {"remove": [5]}):
            resp = await client.post("/api/v1/known-hosts", json=bad, headers=headers)
            assert resp.status == 400, bad

    harness.run(go)
    assert set(KnownHosts.load(harness.paths.known_hosts).hosts) == {"b"}


def test_setup_refuses_while_the_cluster_runs(harness: ApiHarness) -> None:
    harness.api.cluster_probe = lambda: True

    async def go(client: TestClient) -> None:
        resp = await client.post("/api/v1/cluster/setup", json=_setup_body(),
                                 headers=await token_of(client))
        assert resp.status == 409
        assert codes(await resp.json()) == ["CLUSTER_RUNNING"]

    harness.run(go)
    assert not harness.paths.corosync_dir.exists()


def test_setup_destroys_the_old_cib(harness: ApiHarness) -> None:
    harness.api.cluster_probe = lambda: False
    cib = harness.paths.cib_dir
    cib.mkdir(parents=True)
    (cib / "cib.xml").write_text("<cib/>")
    (cib / "cib.xml.sig").write_text("x")

    async def go(client: TestClient) -> dict[str, Any]:
        resp = await client.post("/api/v1/cluster/setup", json=_setup_body(),
                                 headers=await token_of(client))
        assert resp.status == 200
        return await resp.json()

    assert harness.run(go)["destroyed_cib_files"] == 2
    assert list(cib.iterdir()) == []
