"""corosync.conf parsing, validation, both setup spellings, the authkey."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from tandem.corosync.conf import (
    AUTHKEY_BYTES,
    CorosyncConf,
    SetupNode,
    SetupSpec,
    parse,
    parse_setup_argv,
    render,
    setup_files,
    validate,
    write_authkey,
)
from tandem.errors import CorosyncError, UsageError

HAND_WRITTEN = """\
# a comment
totem {
  version: 2
  cluster_name:demo
  token: 3000
  token: 1000
  interface {
     linknumber: 0
  }
}
nodelist {
    node {
        ring0_addr: 10.1.1.1
        ring1_addr: 10.2.1.1
        nodeid: 7
        name: alpha
    }
    node {
        ring0_addr: beta.example
        nodeid: 9
    }
}
quorum {
    provider: corosync_votequorum
    two_node: 1
}
"""


def test_hand_written_file_is_understood():
    conf = CorosyncConf.from_text(HAND_WRITTEN)
    assert conf.cluster_name == "demo"
    assert conf.token == 1000  # the last value wins, as in corosync
    assert conf.consensus is None
    assert conf.two_node
    nodes = conf.nodes()
    assert [(n.nodeid, n.name, n.addrs) for n in nodes] == [
        (7, "alpha", ("10.1.1.1", "10.2.1.1")),
        (9, "beta.example", ("beta.example",)),  # no name: ring0_addr names it
    ]


def test_export_then_parse_is_stable():
    tree = parse(HAND_WRITTEN)
    text = tree.export()
    assert parse(text) == tree
    assert parse(text).export() == text
    assert "        linknumber: 0\n" in text  # nested sections get 4 spaces per level


@pytest.mark.parametrize(
    ("text", "line", "what"),
    [
        ("totem {\n version: 2\n", 2, "not closed"),
        ("}\n", 1, "unexpected '}'"),
        ("totem {\n garbage here\n}\n", 2, "cannot understand"),
        ("totem {\n : x\n}\n", 2, "without a name"),
    ],
)
def test_parse_errors_name_the_line(text, line, what):
    with pytest.raises(CorosyncError) as exc:
        parse(text, "/etc/corosync/corosync.conf")
    report = exc.value.reports[0]
    assert report.code == "COROSYNC_CONF_PARSE_ERROR"
    assert report.payload["line"] == line
    assert what in report.message and "/etc/corosync/corosync.conf" in report.message


def test_two_node_only_for_exactly_two_nodes_and_not_with_auto_tie_breaker():
    def conf(n, **quorum):
        spec = SetupSpec("c", [SetupNode(f"n{i}", (f"10.0.0.{i}",)) for i in range(1, n + 1)])
        spec.quorum_options.update(quorum)
        return CorosyncConf.from_text(render(spec))

    assert conf(2).two_node
    assert not conf(1).two_node and not conf(3).two_node
    assert not conf(2, auto_tie_breaker="1").two_node


def test_token_override_lands_in_totem():
    spec = parse_setup_argv(
        ["c", "a", "addr=10.0.0.1", "b", "addr=10.0.0.2", "totem", "token=1000"]
    )
    conf = CorosyncConf.from_text(render(spec))
    assert conf.token == 1000 and conf.totem_options()["crypto_cipher"] == "aes256"
    assert len(conf.cluster_uuid or "") == 32


def test_validation_collects_every_problem():
    spec = SetupSpec(
        "bad name",
        [SetupNode("a", ("10.0.0.1",)), SetupNode("a", ("10.0.0.1", "10.0.0.9"))],
        transport="udp",
        totem_options={"token": "fast", "tokn": "1"},
        quorum_options={"wait_for_all": "yes"},
        crypto_options={"cipher": "aes256"},
    )
    codes = sorted(r.code for r in validate(spec))
    assert codes == sorted(
        [
            "INVALID_CLUSTER_NAME",
            "NODE_NAMES_DUPLICATION",
            "NODE_ADDRESSES_DUPLICATION",
            "NODE_ADDRESSES_COUNT_MISMATCH",
            "TOO_MANY_ADDRESSES",
            "INVALID_OPTIONS",
            "NOT_SUPPORTED_BY_TRANSPORT",
            "INVALID_OPTION_VALUE",
            "INVALID_OPTION_VALUE",
        ]
    )
    with pytest.raises(UsageError) as exc:
        render(spec)
    assert len(exc.value.reports) == len(codes)


def test_legacy_spelling_uses_names_as_addresses():
    spec = parse_setup_argv(["pcmk-1", "pcmk-2,10.9.9.2"], name="mycluster")
    assert spec.cluster_name == "mycluster"
    assert spec.nodes == [
        SetupNode("pcmk-1", ("pcmk-1",)),
        SetupNode("pcmk-2", ("pcmk-2", "10.9.9.2")),
    ]
    new = parse_setup_argv(["mycluster", "pcmk-1", "pcmk-2"])
    assert new.nodes[0] == SetupNode("pcmk-1", ("pcmk-1",))


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["c", "addr=1.2.3.4"],
        ["c", "a", "foo=bar"],
        ["c", "a", "totem", "token"],
        ["c", "a", "transport"],
    ],
)
def test_bad_setup_arguments_are_usage_errors(argv):
    with pytest.raises(UsageError):
        parse_setup_argv(argv)


def test_authkey_is_256_bytes_mode_0400(tmp_path: Path):
    key = write_authkey(tmp_path / "authkey")
    assert len(key) == AUTHKEY_BYTES == 256
    st = (tmp_path / "authkey").stat()
    assert stat.S_IMODE(st.st_mode) == 0o400
    assert (tmp_path / "authkey").read_bytes() == key
    assert write_authkey(tmp_path / "authkey2") != key
    with pytest.raises(CorosyncError):
        write_authkey(tmp_path / "short", b"x" * 10)


def test_setup_files_writes_both(tmp_path: Path):
    spec = parse_setup_argv(["c", "a", "addr=10.0.0.1", "b", "addr=10.0.0.2"])
    text, key = setup_files(spec, tmp_path, cluster_uuid="0" * 32)
    assert (tmp_path / "corosync.conf").read_text() == text
    assert "cluster_uuid: " + "0" * 32 in text
    assert (tmp_path / "authkey").read_bytes() == key
    assert CorosyncConf.load(tmp_path / "corosync.conf").node_names() == ["a", "b"]


def test_missing_conf_says_what_to_do(tmp_path: Path):
    with pytest.raises(CorosyncError) as exc:
        CorosyncConf.load(tmp_path / "nope.conf")
    assert "cluster setup" in str(exc.value)
