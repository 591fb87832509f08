"""The ctypes layer's pure parts: struct layouts (from the headers), errors, cmap decoding.

Sizes below are derived by hand from /usr/include/corosync (x86_64 ABI), so a
wrong field type or order fails here before it corrupts memory in the lab.
"""

from __future__ import annotations

import ctypes

import pytest

from tandem.corosync import bindings as b
from tandem.corosync.transport import CorosyncNotRunningError, NodeInfo, nodelist_from_cmap
from tandem.errors import CorosyncError, NotRunningError


def test_struct_layouts_match_the_headers():
    # struct cpg_name { uint32_t length; char value[128]; }
    assert ctypes.sizeof(b.CpgName) == 4 + 128
    # struct cpg_address { uint32_t nodeid, pid, reason; }
    assert ctypes.sizeof(b.CpgAddress) == 12
    # struct iovec { void *iov_base; size_t iov_len; }
    assert ctypes.sizeof(b.IoVec) == 16
    # struct votequorum_info: 9 unsigned ints + char[255], padded to 4
    assert b.VotequorumInfoStruct.flags.offset == 7 * 4
    assert b.VotequorumInfoStruct.qdevice_name.offset == 9 * 4
    assert ctypes.sizeof(b.VotequorumInfoStruct) == 292
    # votequorum_node_t { uint32_t nodeid, state; }
    assert ctypes.sizeof(b.VotequorumNode) == 8
    # two function pointers / three for votequorum
    assert ctypes.sizeof(b.CpgCallbacks) == 16
    assert ctypes.sizeof(b.VotequorumCallbacks) == 24


def test_cs_ok_is_one_and_errors_carry_the_name():
    b.check(1, "cpg_join")  # CS_OK
    with pytest.raises(CorosyncError) as exc:
        b.check(6, "cpg_mcast_joined", group="g")
    report = exc.value.reports[0]
    assert report.payload["cs_error"] == "CS_ERR_TRY_AGAIN"
    assert report.payload["group"] == "g"
    assert "cpg_mcast_joined" in report.message and "CS_ERR_TRY_AGAIN" in report.message
    assert b.cs_error_name(999) == "CS_ERR_UNKNOWN(999)"


def test_library_error_at_initialize_means_not_running():
    with pytest.raises(CorosyncNotRunningError) as exc:
        b.check_init(2, "cpg_initialize")
    err = exc.value
    assert isinstance(err, CorosyncError) and isinstance(err, NotRunningError)
    assert str(err).startswith("corosync is not running on this node")
    assert err.code == "COROSYNC_NOT_RUNNING"
    with pytest.raises(CorosyncError) as exc2:
        b.check_init(11, "cpg_initialize")  # CS_ERR_ACCESS is not "not running"
    assert not isinstance(exc2.value, CorosyncNotRunningError)


def test_group_names_are_bounded():
    assert b.CpgName.of("tandem").text() == "tandem"
    with pytest.raises(CorosyncError):
        b.CpgName.of("x" * 129)
    with pytest.raises(CorosyncError):
        b.CpgName.of("")


def test_cmap_values_decode_by_type():
    u32 = ctypes.create_string_buffer(ctypes.c_uint32(3000).value.to_bytes(4, "little"), 8)
    assert b._decode_cmap(u32, 4, 6) == 3000
    s = ctypes.create_string_buffer(b"tcs\x00", 8)
    assert b._decode_cmap(s, 4, b.CMAP_VALUETYPE_STRING) == "tcs"
    i32 = ctypes.create_string_buffer((-5).to_bytes(4, "little", signed=True), 8)
    assert b._decode_cmap(i32, 4, 5) == -5


def test_nodelist_from_cmap_keys():
    items = {
        "nodelist.local_node_pos": 0,
        "nodelist.node.1.name": "pcmk-2",
        "nodelist.node.1.nodeid": 2,
        "nodelist.node.1.ring0_addr": "192.0.2.102",
        "nodelist.node.0.ring1_addr": "10.0.0.1",
        "nodelist.node.0.ring0_addr": "192.0.2.101",
        "nodelist.node.0.nodeid": 1,
    }
    assert nodelist_from_cmap(items) == (
        NodeInfo(1, "192.0.2.101", ("192.0.2.101", "10.0.0.1")),
        NodeInfo(2, "pcmk-2", ("192.0.2.102",)),
    )
