"""known-hosts (pcs format), the accepted-token store, names, password hashing, certificates."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from tandem.api import auth, tls
from tandem.api.storage import (
    Dest,
    KnownHost,
    KnownHosts,
    TokenStore,
    validate_node_name,
    write_private_json,
)
from tandem.errors import TandemError, UsageError


def test_known_hosts_file_has_pcs_format(tmp_path: Path) -> None:
    path = tmp_path / "known-hosts"
    kh = KnownHosts()
    kh.put(KnownHost("node1", "tok1", (Dest("10.0.1.1", 2224),)))
    kh.save(path)
    data = json.loads(path.read_text())
    # the example of ha-reference.md section 4 (pcs/common/host.py)
    assert data == {
        "format_version": 1,
        "data_version": 1,
        "known_hosts": {
            "node1": {"token": "tok1", "dest_list": [{"addr": "10.0.1.1", "port": 2224}]}
        },
    }
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    kh.save(path)
    assert KnownHosts.load(path).data_version == 2


def test_known_hosts_reads_a_pcs_written_file(tmp_path: Path) -> None:
    path = tmp_path / "known-hosts"
    path.write_text(
        '{"format_version":1,"data_version":7,"known_hosts":{"node1":{"token":"abc",'
        '"dest_list":[{"addr":"10.0.1.1","port":2224},{"addr":"10.0.2.1","port":2225}]}}}'
    )
    kh = KnownHosts.load(path)
    assert kh.data_version == 7
    assert kh.get("node1") == KnownHost(
        "node1", "abc", (Dest("10.0.1.1", 2224), Dest("10.0.2.1", 2225))
    )
    assert kh.get("node1").dest == Dest("10.0.1.1", 2224)


@pytest.mark.parametrize("text", ["{not json", '{"known_hosts": {"n": {"dest_list": []}}}', "[]"])
def test_malformed_known_hosts_is_one_clear_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "known-hosts"
    path.write_text(text)
    with pytest.raises(TandemError) as exc:
        KnownHosts.load(path)
    assert str(path) in str(exc.value)


def test_missing_known_hosts_is_empty(tmp_path: Path) -> None:
    assert KnownHosts.load(tmp_path / "nope").hosts == {}


def test_private_json_is_never_world_readable(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "f.json"
    write_private_json(path, {"a": 1})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["f.json"]  # no temp file left


def test_token_store_keeps_digests_only_and_revokes(tmp_path: Path) -> None:
    store = TokenStore(tmp_path / "tokens.json")
    t1, t2 = store.issue("hacluster"), store.issue("alice")
    assert t1 != t2 and len(t1) >= 40
    text = (tmp_path / "tokens.json").read_text()
    assert t1 not in text and t2 not in text
    assert stat.S_IMODE((tmp_path / "tokens.json").stat().st_mode) == 0o600
    assert store.lookup(t1).username == "hacluster"
    assert store.lookup("nope") is None
    assert store.revoke([t1, "unknown"]) == 1
    assert store.lookup(t1) is None and store.lookup(t2) is not None
    # another process (tandem pcsd deauth) edits the file: the store notices
    TokenStore(tmp_path / "tokens.json").revoke_all()
    assert store.lookup(t2) is None


@pytest.mark.parametrize("name", ["pcmk-1", "node.example.com", "n_2", "a"])
def test_valid_node_names(name: str) -> None:
    assert validate_node_name(name) == name


@pytest.mark.parametrize(
    "name", ["", "..", "../etc", "a/b", "/abs", "a..b", "-x", ".hidden", "a b", "a\nb", "x" * 300, 5]
)
def test_invalid_node_names(name: object) -> None:
    with pytest.raises(UsageError) as exc:
        validate_node_name(name)
    assert exc.value.code == "INVALID_NODE_NAME"


def test_password_file_backend(tmp_path: Path) -> None:
    path = tmp_path / "pw.json"
    auth.write_password_file(path, {"hacluster": "s3cret"})
    assert "s3cret" not in path.read_text()
    a = auth.make_authenticator(f"file:{path}")
    assert a.authenticate("hacluster", "s3cret")
    assert not a.authenticate("hacluster", "S3cret")
    assert not a.authenticate("root", "s3cret")
    assert not auth.PasswordFileAuthenticator(tmp_path / "missing").authenticate("hacluster", "x")


def test_unknown_auth_backend() -> None:
    with pytest.raises(ValueError):
        auth.make_authenticator("ldap")


def test_pam_refuses_non_admin_users_before_asking_pam() -> None:
    a = auth.PamAuthenticator("other")
    assert not a.authenticate("nobody", "whatever")  # nobody is not in haclient


def test_self_signed_certificate(tmp_path: Path) -> None:
    cert, key = tmp_path / "c.crt", tmp_path / "c.key"
    assert tls.ensure_certificate(cert, key)
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert not tls.ensure_certificate(cert, key)  # kept at the next start
    ctx = tls.server_context(cert, key)
    assert ctx.minimum_version >= tls.ssl.TLSVersion.TLSv1_2


def test_hacluster_account_created_when_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[list[str]] = []

    def missing(_name: str) -> None:
        raise KeyError(_name)

    monkeypatch.setattr(auth.grp, "getgrnam", missing)
    monkeypatch.setattr(auth.pwd, "getpwnam", missing)
    monkeypatch.setattr(auth.subprocess, "run", lambda argv, **_kw: calls.append(argv))
    assert auth.ensure_hacluster_account() is True
    assert calls[0] == ["groupadd", "--system", "haclient"]
    useradd = calls[1]
    assert useradd[0] == "useradd" and "--system" in useradd and useradd[-1] == "hacluster"
    assert "--password" not in useradd and "-p" not in useradd  # no password: passwd sets it


def test_hacluster_account_left_alone_when_present(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[list[str]] = []
    monkeypatch.setattr(auth.grp, "getgrnam", lambda name: object())
    monkeypatch.setattr(auth.pwd, "getpwnam", lambda name: object())
    monkeypatch.setattr(auth.subprocess, "run", lambda argv, **_kw: calls.append(argv))
    assert auth.ensure_hacluster_account() is False
    assert calls == []


def test_unwritable_folder_is_one_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(TandemError) as exc:
        write_private_json(blocker / "sub" / "known-hosts", {})
    assert exc.value.code == "FILE_WRITE_ERROR" and "cannot write" in str(exc.value)
