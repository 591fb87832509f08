"""ctypes bindings to corosync 3's client libraries: libcpg, libvotequorum, libquorum, libcmap.

Why ctypes and not a C extension: Debian ships the libraries (corosync 3.1.7:
libcpg.so.4, libvotequorum.so.8, libquorum.so.5, libcmap.so.4) and their
calls are few and simple; a compiled module would tie tandem to build tools.
Layouts follow the headers in /usr/include/corosync (cpg.h, votequorum.h,
quorum.h, cmap.h, corotypes.h).

Rules the wrappers keep:
- every ``cs_error_t`` other than CS_OK (which is 1, not 0) raises
  :class:`tandem.errors.CorosyncError` whose message and payload name the
  call and the cs_error (``CS_ERR_TRY_AGAIN``...);
- ``*_initialize`` failing with CS_ERR_LIBRARY means the IPC connection was
  refused: corosync is not running on this node (in this network namespace:
  corosync's IPC sockets are abstract unix sockets, per network namespace,
  with ring buffers in /dev/shm).  That raises
  :class:`CorosyncNotRunningError` with that sentence;
- ctypes callback objects are kept on the handle object for the handle's
  whole life (a collected callback crashes the process at the next dispatch);
- callbacks only record events; exceptions never cross back into C.
"""

from __future__ import annotations

import contextlib
import ctypes
import enum
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tandem.corosync.transport import CorosyncNotRunningError, CpgMember, CpgReason
from tandem.errors import CorosyncError, Report

# --------------------------------------------------------------------------- constants


class CsError(enum.IntEnum):
    """cs_error_t (corotypes.h)."""

    CS_OK = 1
    CS_ERR_LIBRARY = 2
    CS_ERR_VERSION = 3
    CS_ERR_INIT = 4
    CS_ERR_TIMEOUT = 5
    CS_ERR_TRY_AGAIN = 6
    CS_ERR_INVALID_PARAM = 7
    CS_ERR_NO_MEMORY = 8
    CS_ERR_BAD_HANDLE = 9
    CS_ERR_BUSY = 10
    CS_ERR_ACCESS = 11
    CS_ERR_NOT_EXIST = 12
    CS_ERR_NAME_TOO_LONG = 13
    CS_ERR_EXIST = 14
    CS_ERR_NO_SPACE = 15
    CS_ERR_INTERRUPT = 16
    CS_ERR_NAME_NOT_FOUND = 17
    CS_ERR_NO_RESOURCES = 18
    CS_ERR_NOT_SUPPORTED = 19
    CS_ERR_BAD_OPERATION = 20
    CS_ERR_FAILED_OPERATION = 21
    CS_ERR_MESSAGE_ERROR = 22
    CS_ERR_QUEUE_FULL = 23
    CS_ERR_QUEUE_NOT_AVAILABLE = 24
    CS_ERR_BAD_FLAGS = 25
    CS_ERR_TOO_BIG = 26
    CS_ERR_NO_SECTIONS = 27
    CS_ERR_CONTEXT_NOT_FOUND = 28
    CS_ERR_TOO_MANY_GROUPS = 30
    CS_ERR_SECURITY = 100


def cs_error_name(rc: int) -> str:
    try:
        return CsError(rc).name
    except ValueError:
        return f"CS_ERR_UNKNOWN({rc})"


CS_DISPATCH_ONE = 1
CS_DISPATCH_ALL = 2
CS_DISPATCH_BLOCKING = 3
CS_DISPATCH_ONE_NONBLOCKING = 4

CS_TRACK_CURRENT = 0x01
CS_TRACK_CHANGES = 0x02
CS_TRACK_CHANGES_ONLY = 0x04

CPG_TYPE_AGREED = 2  # cpg_guarantee_t: UNORDERED=0, FIFO=1, AGREED=2, SAFE=3
CPG_MAX_NAME_LENGTH = 128
CPG_MEMBERS_MAX = 128

VOTEQUORUM_INFO_TWONODE = 1
VOTEQUORUM_INFO_QUORATE = 2
VOTEQUORUM_INFO_WAIT_FOR_ALL = 4
VOTEQUORUM_INFO_LAST_MAN_STANDING = 8
VOTEQUORUM_INFO_AUTO_TIE_BREAKER = 16
VOTEQUORUM_NODESTATE_MEMBER = 1
VOTEQUORUM_NODESTATE_DEAD = 2
VOTEQUORUM_NODESTATE_LEAVING = 3

CMAP_KEYNAME_MAXLEN = 255

# --------------------------------------------------------------------------- structures

c_handle = ctypes.c_uint64


class CpgName(ctypes.Structure):
    _fields_ = [("length", ctypes.c_uint32), ("value", ctypes.c_char * CPG_MAX_NAME_LENGTH)]

    @classmethod
    def of(cls, name: str) -> CpgName:
        raw = name.encode()
        if not raw or len(raw) > CPG_MAX_NAME_LENGTH:
            raise CorosyncError(
                Report(
                    "COROSYNC_ERROR",
                    f"CPG group name {name!r} must be 1 to {CPG_MAX_NAME_LENGTH} bytes: "
                    "CS_ERR_NAME_TOO_LONG",
                    {"cs_error": "CS_ERR_NAME_TOO_LONG", "group": name},
                )
            )
        return cls(len(raw), raw)

    def text(self) -> str:
        return bytes(self.value[: self.length]).decode(errors="replace")


class CpgAddress(ctypes.Structure):
    _fields_ = [
        ("nodeid", ctypes.c_uint32),
        ("pid", ctypes.c_uint32),
        ("reason", ctypes.c_uint32),
    ]


class IoVec(ctypes.Structure):
    _fields_ = [("iov_base", ctypes.c_void_p), ("iov_len", ctypes.c_size_t)]


CPG_DELIVER_FN = ctypes.CFUNCTYPE(
    None,
    c_handle,
    ctypes.POINTER(CpgName),
    ctypes.c_uint32,
    ctypes.c_uint32,
    ctypes.c_void_p,
    ctypes.c_size_t,
)
CPG_CONFCHG_FN = ctypes.CFUNCTYPE(
    None,
    c_handle,
    ctypes.POINTER(CpgName),
    ctypes.POINTER(CpgAddress),
    ctypes.c_size_t,
    ctypes.POINTER(CpgAddress),
    ctypes.c_size_t,
    ctypes.POINTER(CpgAddress),
    ctypes.c_size_t,
)


class CpgCallbacks(ctypes.Structure):
    _fields_ = [("cpg_deliver_fn", CPG_DELIVER_FN), ("cpg_confchg_fn", CPG_CONFCHG_FN)]


class VotequorumInfoStruct(ctypes.Structure):
    _fields_ = [
        ("node_id", ctypes.c_uint),
        ("node_state", ctypes.c_uint),
        ("node_votes", ctypes.c_uint),
        ("node_expected_votes", ctypes.c_uint),
        ("highest_expected", ctypes.c_uint),
        ("total_votes", ctypes.c_uint),
        ("quorum", ctypes.c_uint),
        ("flags", ctypes.c_uint),
        ("qdevice_votes", ctypes.c_uint),
        ("qdevice_name", ctypes.c_char * 255),
    ]


class VotequorumNode(ctypes.Structure):
    _fields_ = [("nodeid", ctypes.c_uint32), ("state", ctypes.c_uint32)]


VQ_QUORUM_FN = ctypes.CFUNCTYPE(
    None,
    c_handle,
    ctypes.c_uint64,
    ctypes.c_uint32,
    ctypes.c_uint32,
    ctypes.POINTER(VotequorumNode),
)
VQ_EXPECTED_FN = ctypes.CFUNCTYPE(None, c_handle, ctypes.c_uint64, ctypes.c_uint32)


class VotequorumCallbacks(ctypes.Structure):
    # The nodelist notification passes a struct by value; tandem does not use
    # it and leaves the pointer NULL (corosync skips NULL callbacks).
    _fields_ = [
        ("votequorum_quorum_notify_fn", VQ_QUORUM_FN),
        ("votequorum_expectedvotes_notify_fn", VQ_EXPECTED_FN),
        ("votequorum_nodelist_notify_fn", ctypes.c_void_p),
    ]


QUORUM_NOTIFY_FN = ctypes.CFUNCTYPE(
    None,
    c_handle,
    ctypes.c_uint32,
    ctypes.c_uint64,
    ctypes.c_uint32,
    ctypes.POINTER(ctypes.c_uint32),
)


class QuorumCallbacks(ctypes.Structure):
    _fields_ = [("quorum_notify_fn", QUORUM_NOTIFY_FN)]


# --------------------------------------------------------------------------- libraries

_P = ctypes.POINTER
_u64p = _P(ctypes.c_uint64)
_intp = _P(ctypes.c_int)
_uintp = _P(ctypes.c_uint)

_SIGNATURES: dict[str, dict[str, list[Any]]] = {
    "libcpg.so.4": {
        "cpg_initialize": [_u64p, _P(CpgCallbacks)],
        "cpg_finalize": [c_handle],
        "cpg_fd_get": [c_handle, _intp],
        "cpg_dispatch": [c_handle, ctypes.c_int],
        "cpg_join": [c_handle, _P(CpgName)],
        "cpg_leave": [c_handle, _P(CpgName)],
        "cpg_mcast_joined": [c_handle, ctypes.c_int, _P(IoVec), ctypes.c_uint],
        "cpg_membership_get": [c_handle, _P(CpgName), _P(CpgAddress), _intp],
        "cpg_local_get": [c_handle, _uintp],
        "cpg_max_atomic_msgsize_get": [c_handle, _P(ctypes.c_uint32)],
        "cpg_flow_control_state_get": [c_handle, _intp],
    },
    "libvotequorum.so.8": {
        "votequorum_initialize": [_u64p, _P(VotequorumCallbacks)],
        "votequorum_finalize": [c_handle],
        "votequorum_dispatch": [c_handle, ctypes.c_int],
        "votequorum_fd_get": [c_handle, _intp],
        "votequorum_getinfo": [c_handle, ctypes.c_uint, _P(VotequorumInfoStruct)],
        "votequorum_trackstart": [c_handle, ctypes.c_uint64, ctypes.c_uint],
        "votequorum_trackstop": [c_handle],
    },
    "libquorum.so.5": {
        "quorum_initialize": [_u64p, _P(QuorumCallbacks), _P(ctypes.c_uint32)],
        "quorum_finalize": [c_handle],
        "quorum_fd_get": [c_handle, _intp],
        "quorum_dispatch": [c_handle, ctypes.c_int],
        "quorum_getquorate": [c_handle, _intp],
        "quorum_trackstart": [c_handle, ctypes.c_uint],
        "quorum_trackstop": [c_handle],
    },
    "libcmap.so.4": {
        "cmap_initialize": [_u64p],
        "cmap_finalize": [c_handle],
        "cmap_get": [
            c_handle,
            ctypes.c_char_p,
            ctypes.c_void_p,
            _P(ctypes.c_size_t),
            _P(ctypes.c_int),
        ],
        "cmap_iter_init": [c_handle, ctypes.c_char_p, _u64p],
        "cmap_iter_next": [
            c_handle,
            ctypes.c_uint64,
            ctypes.c_char_p,
            _P(ctypes.c_size_t),
            _P(ctypes.c_int),
        ],
        "cmap_iter_finalize": [c_handle, ctypes.c_uint64],
    },
}


@functools.cache
def load(soname: str) -> ctypes.CDLL:
    """Load one corosync client library and declare its signatures.

    Raises CorosyncError (``CS_ERR_LIBRARY``) when the library is missing,
    naming the Debian package that ships it.
    """
    try:
        lib = ctypes.CDLL(soname, use_errno=True)
    except OSError as exc:
        base, _, version = soname.partition(".so.")
        package = base + version  # libcpg.so.4 is in Debian's libcpg4
        raise CorosyncError(
            Report(
                "COROSYNC_LIBRARY_MISSING",
                f"cannot load {soname} ({exc}); install the Debian package {package}",
                {"library": soname, "cs_error": "CS_ERR_LIBRARY"},
            )
        ) from exc
    for name, argtypes in _SIGNATURES[soname].items():
        fn = getattr(lib, name)
        fn.argtypes = argtypes
        fn.restype = ctypes.c_int
    return lib


def check(rc: int, call: str, **payload: Any) -> None:
    """Raise CorosyncError unless ``rc`` is CS_OK."""
    if rc == CsError.CS_OK:
        return
    name = cs_error_name(rc)
    what = " ".join(f"{k}={v}" for k, v in payload.items())
    raise CorosyncError(
        Report(
            "COROSYNC_ERROR",
            f"{call}{' (' + what + ')' if what else ''} failed: {name}",
            {"call": call, "cs_error": name, "cs_error_code": rc, **payload},
        )
    )


def check_init(rc: int, call: str) -> None:
    """Like :func:`check`, but CS_ERR_LIBRARY becomes CorosyncNotRunningError."""
    if rc == CsError.CS_ERR_LIBRARY:
        raise CorosyncNotRunningError(
            Report(
                "COROSYNC_NOT_RUNNING",
                f"corosync is not running on this node ({call} failed: CS_ERR_LIBRARY)",
                {"call": call, "cs_error": "CS_ERR_LIBRARY", "cs_error_code": rc},
            )
        )
    check(rc, call)


class _Handle:
    """Common life cycle: an integer handle, a finalize call, recorded callback errors."""

    _finalize_name = ""
    _lib_name = ""

    def __init__(self) -> None:
        self._lib = load(self._lib_name)
        self.handle = ctypes.c_uint64(0)
        self._open = False
        self._callback_error: BaseException | None = None

    def _guard(self, fn: Callable[..., None]) -> Callable[..., None]:
        """Wrap a callback so that its exception is recorded, then re-raised by dispatch().

        An exception must never cross back into C: ctypes would only print it.
        """

        def wrapper(*args: Any) -> None:
            try:
                fn(*args)
            except BaseException as exc:  # noqa: BLE001 - re-raised by dispatch()
                self._callback_error = exc

        return wrapper

    def _h(self, call: str) -> int:
        if not self._open:
            raise CorosyncError(
                Report(
                    "COROSYNC_ERROR",
                    f"{call} on a finalized handle: CS_ERR_BAD_HANDLE",
                    {"call": call, "cs_error": "CS_ERR_BAD_HANDLE"},
                )
            )
        return self.handle.value

    def _raise_callback_error(self) -> None:
        exc, self._callback_error = self._callback_error, None
        if exc is not None:
            raise exc

    def fd(self) -> int:
        fd = ctypes.c_int(-1)
        prefix = self._finalize_name.split("_")[0]
        check(
            getattr(self._lib, f"{prefix}_fd_get")(self._h(f"{prefix}_fd_get"), ctypes.byref(fd)),
            f"{prefix}_fd_get",
        )
        return fd.value

    def dispatch(self, flags: int = CS_DISPATCH_ALL) -> None:
        """Run the callbacks of whatever is waiting on the fd (non-blocking with ALL)."""
        prefix = self._finalize_name.split("_")[0]
        rc = getattr(self._lib, f"{prefix}_dispatch")(self._h(f"{prefix}_dispatch"), flags)
        if rc != CsError.CS_ERR_TRY_AGAIN:
            check(rc, f"{prefix}_dispatch")
        self._raise_callback_error()

    def finalize(self) -> None:
        """Close the connection; idempotent.  Errors are ignored (corosync may be gone)."""
        if self._open:
            self._open = False
            getattr(self._lib, self._finalize_name)(self.handle.value)

    def __enter__(self) -> _Handle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.finalize()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # interpreter shutdown
            self.finalize()


# --------------------------------------------------------------------------- CPG


def _members(arr: Any, n: int) -> tuple[CpgMember, ...]:
    out = []
    for i in range(n):
        a = arr[i]
        try:
            reason = CpgReason(a.reason)
        except ValueError:
            reason = CpgReason.UNDEFINED
        out.append(CpgMember(a.nodeid, a.pid, reason))
    return tuple(out)


class CpgHandle(_Handle):
    """One libcpg connection (one group at a time, as CPG allows per handle).

    ``on_deliver(group, nodeid, pid, payload)`` and
    ``on_confchg(group, members, left, joined)`` run inside :meth:`dispatch`.
    """

    _finalize_name = "cpg_finalize"
    _lib_name = "libcpg.so.4"

    def __init__(
        self,
        on_deliver: Callable[[str, int, int, bytes], None],
        on_confchg: Callable[
            [str, tuple[CpgMember, ...], tuple[CpgMember, ...], tuple[CpgMember, ...]], None
        ],
    ) -> None:
        super().__init__()

        def deliver(handle: int, group: Any, nodeid: int, pid: int, msg: int, msg_len: int) -> None:
            del handle
            on_deliver(group.contents.text(), nodeid, pid, ctypes.string_at(msg, msg_len))

        def confchg(
            handle: int,
            group: Any,
            mem: Any,
            n_mem: int,
            left: Any,
            n_left: int,
            joined: Any,
            n_joined: int,
        ) -> None:
            del handle
            on_confchg(
                group.contents.text(),
                _members(mem, n_mem),
                _members(left, n_left),
                _members(joined, n_joined),
            )

        # Kept on the object for the handle's whole life (see the module docstring).
        self._deliver_cb = CPG_DELIVER_FN(self._guard(deliver))
        self._confchg_cb = CPG_CONFCHG_FN(self._guard(confchg))
        self._callbacks = CpgCallbacks(self._deliver_cb, self._confchg_cb)
        check_init(
            self._lib.cpg_initialize(ctypes.byref(self.handle), ctypes.byref(self._callbacks)),
            "cpg_initialize",
        )
        self._open = True

    def local_get(self) -> int:
        nodeid = ctypes.c_uint(0)
        check(
            self._lib.cpg_local_get(self._h("cpg_local_get"), ctypes.byref(nodeid)), "cpg_local_get"
        )
        return nodeid.value

    def join(self, group: str) -> None:
        name = CpgName.of(group)
        check(self._lib.cpg_join(self._h("cpg_join"), ctypes.byref(name)), "cpg_join", group=group)

    def leave(self, group: str) -> None:
        name = CpgName.of(group)
        check(
            self._lib.cpg_leave(self._h("cpg_leave"), ctypes.byref(name)), "cpg_leave", group=group
        )

    def mcast(self, payload: bytes) -> int:
        """Multicast in agreed order; returns the raw cs_error (CS_OK or CS_ERR_TRY_AGAIN).

        Other errors raise.  TRY_AGAIN (flow control) is returned so that the
        caller can queue and retry without an exception per message.
        """
        buf = ctypes.create_string_buffer(bytes(payload), len(payload))
        iov = IoVec(ctypes.cast(buf, ctypes.c_void_p), len(payload))
        rc = self._lib.cpg_mcast_joined(
            self._h("cpg_mcast_joined"), CPG_TYPE_AGREED, ctypes.byref(iov), 1
        )
        if rc not in (CsError.CS_OK, CsError.CS_ERR_TRY_AGAIN):
            check(rc, "cpg_mcast_joined", size=len(payload))
        return rc

    def membership_get(self, group: str) -> tuple[CpgMember, ...]:
        name = CpgName.of(group)
        arr = (CpgAddress * CPG_MEMBERS_MAX)()
        n = ctypes.c_int(CPG_MEMBERS_MAX)
        check(
            self._lib.cpg_membership_get(
                self._h("cpg_membership_get"), ctypes.byref(name), arr, ctypes.byref(n)
            ),
            "cpg_membership_get",
            group=group,
        )
        return _members(arr, n.value)

    def max_atomic_msgsize(self) -> int:
        size = ctypes.c_uint32(0)
        check(
            self._lib.cpg_max_atomic_msgsize_get(
                self._h("cpg_max_atomic_msgsize_get"), ctypes.byref(size)
            ),
            "cpg_max_atomic_msgsize_get",
        )
        return size.value


# --------------------------------------------------------------------------- votequorum


@dataclass(frozen=True)
class VotequorumInfo:
    """struct votequorum_info, decoded."""

    node_id: int
    node_state: int
    node_votes: int
    node_expected_votes: int
    highest_expected: int
    total_votes: int
    quorum: int
    flags: int

    @property
    def quorate(self) -> bool:
        return bool(self.flags & VOTEQUORUM_INFO_QUORATE)

    @property
    def two_node(self) -> bool:
        return bool(self.flags & VOTEQUORUM_INFO_TWONODE)

    @property
    def wait_for_all(self) -> bool:
        return bool(self.flags & VOTEQUORUM_INFO_WAIT_FOR_ALL)


class VotequorumHandle(_Handle):
    """One libvotequorum connection.

    ``on_quorum(quorate, [(nodeid, state), ...])`` runs inside :meth:`dispatch`
    after :meth:`trackstart`; ``on_expected(expected_votes)`` likewise.
    """

    _finalize_name = "votequorum_finalize"
    _lib_name = "libvotequorum.so.8"

    def __init__(
        self,
        on_quorum: Callable[[bool, list[tuple[int, int]]], None] | None = None,
        on_expected: Callable[[int], None] | None = None,
    ) -> None:
        super().__init__()
        quorum_cb = on_quorum or (lambda q, nodes: None)
        expected_cb = on_expected or (lambda e: None)

        def quorum_fn(handle: int, context: int, quorate: int, n: int, nodes: Any) -> None:
            del handle, context
            quorum_cb(bool(quorate), [(nodes[i].nodeid, nodes[i].state) for i in range(n)])

        def expected_fn(handle: int, context: int, expected: int) -> None:
            del handle, context
            expected_cb(expected)

        self._quorum_cb = VQ_QUORUM_FN(self._guard(quorum_fn))
        self._expected_cb = VQ_EXPECTED_FN(self._guard(expected_fn))
        self._callbacks = VotequorumCallbacks(self._quorum_cb, self._expected_cb, None)
        check_init(
            self._lib.votequorum_initialize(
                ctypes.byref(self.handle), ctypes.byref(self._callbacks)
            ),
            "votequorum_initialize",
        )
        self._open = True

    def getinfo(self, nodeid: int = 0) -> VotequorumInfo:
        """votequorum's info about ``nodeid``; 0 (the default) means this node."""
        info = VotequorumInfoStruct()
        check(
            self._lib.votequorum_getinfo(self._h("votequorum_getinfo"), nodeid, ctypes.byref(info)),
            "votequorum_getinfo",
            nodeid=nodeid,
        )
        return VotequorumInfo(
            info.node_id,
            info.node_state,
            info.node_votes,
            info.node_expected_votes,
            info.highest_expected,
            info.total_votes,
            info.quorum,
            info.flags,
        )

    def trackstart(self, flags: int = CS_TRACK_CURRENT | CS_TRACK_CHANGES) -> None:
        check(
            self._lib.votequorum_trackstart(self._h("votequorum_trackstart"), 0, flags),
            "votequorum_trackstart",
        )

    def trackstop(self) -> None:
        check(
            self._lib.votequorum_trackstop(self._h("votequorum_trackstop")), "votequorum_trackstop"
        )


# --------------------------------------------------------------------------- quorum


class QuorumHandle(_Handle):
    """One libquorum connection: the quorum provider's yes/no and the member list.

    ``on_change(quorate, ring_seq, [nodeid, ...])`` runs inside :meth:`dispatch`.
    """

    _finalize_name = "quorum_finalize"
    _lib_name = "libquorum.so.5"

    def __init__(self, on_change: Callable[[bool, int, list[int]], None] | None = None) -> None:
        super().__init__()
        cb = on_change or (lambda q, seq, nodes: None)

        def notify(handle: int, quorate: int, ring_seq: int, n: int, view: Any) -> None:
            del handle
            cb(bool(quorate), ring_seq, [view[i] for i in range(n)])

        self._notify_cb = QUORUM_NOTIFY_FN(self._guard(notify))
        self._callbacks = QuorumCallbacks(self._notify_cb)
        qtype = ctypes.c_uint32(0)
        check_init(
            self._lib.quorum_initialize(
                ctypes.byref(self.handle), ctypes.byref(self._callbacks), ctypes.byref(qtype)
            ),
            "quorum_initialize",
        )
        self._open = True
        self.quorum_type = qtype.value  # QUORUM_SET (1) when a provider is configured

    def getquorate(self) -> bool:
        q = ctypes.c_int(0)
        check(
            self._lib.quorum_getquorate(self._h("quorum_getquorate"), ctypes.byref(q)),
            "quorum_getquorate",
        )
        return bool(q.value)

    def trackstart(self, flags: int = CS_TRACK_CURRENT | CS_TRACK_CHANGES) -> None:
        check(self._lib.quorum_trackstart(self._h("quorum_trackstart"), flags), "quorum_trackstart")


# --------------------------------------------------------------------------- cmap

CmapValue = int | float | str | bytes

_CMAP_INT = {
    1: ctypes.c_int8,
    2: ctypes.c_uint8,
    3: ctypes.c_int16,
    4: ctypes.c_uint16,
    5: ctypes.c_int32,
    6: ctypes.c_uint32,
    7: ctypes.c_int64,
    8: ctypes.c_uint64,
    9: ctypes.c_float,
    10: ctypes.c_double,
}
CMAP_VALUETYPE_STRING = 11
CMAP_VALUETYPE_BINARY = 12


def _decode_cmap(buf: Any, size: int, vtype: int) -> CmapValue:
    if vtype in _CMAP_INT:
        return _CMAP_INT[vtype].from_buffer_copy(buf.raw[: ctypes.sizeof(_CMAP_INT[vtype])]).value
    raw = buf.raw[:size]
    if vtype == CMAP_VALUETYPE_STRING:
        return raw.rstrip(b"\0").decode(errors="replace")
    return raw


class CmapHandle(_Handle):
    """One libcmap connection (the icmap map: configuration and runtime keys)."""

    _finalize_name = "cmap_finalize"
    _lib_name = "libcmap.so.4"

    def __init__(self) -> None:
        super().__init__()
        check_init(self._lib.cmap_initialize(ctypes.byref(self.handle)), "cmap_initialize")
        self._open = True

    def get(self, key: str) -> CmapValue:
        """One key's value; CorosyncError with CS_ERR_NOT_EXIST when the key is absent."""
        size = ctypes.c_size_t(0)
        vtype = ctypes.c_int(0)
        k = key.encode()
        # First ask the size, then fetch.
        check(
            self._lib.cmap_get(
                self._h("cmap_get"), k, None, ctypes.byref(size), ctypes.byref(vtype)
            ),
            "cmap_get",
            key=key,
        )
        buf = ctypes.create_string_buffer(max(size.value, 8))
        size2 = ctypes.c_size_t(len(buf))
        check(
            self._lib.cmap_get(
                self._h("cmap_get"), k, buf, ctypes.byref(size2), ctypes.byref(vtype)
            ),
            "cmap_get",
            key=key,
        )
        return _decode_cmap(buf, size2.value, vtype.value)

    def get_or(self, key: str, default: CmapValue | None = None) -> CmapValue | None:
        try:
            return self.get(key)
        except CorosyncError as exc:
            if exc.reports[0].payload.get("cs_error") == "CS_ERR_NOT_EXIST":
                return default
            raise

    def items(self, prefix: str = "") -> dict[str, CmapValue]:
        """Every key under ``prefix`` with its value (as corosync-cmapctl PREFIX)."""
        it = ctypes.c_uint64(0)
        check(
            self._lib.cmap_iter_init(
                self._h("cmap_iter_init"), prefix.encode() or None, ctypes.byref(it)
            ),
            "cmap_iter_init",
            prefix=prefix,
        )
        keys: list[str] = []
        try:
            name = ctypes.create_string_buffer(CMAP_KEYNAME_MAXLEN + 1)
            size = ctypes.c_size_t(0)
            vtype = ctypes.c_int(0)
            while True:
                rc = self._lib.cmap_iter_next(
                    self.handle.value, it.value, name, ctypes.byref(size), ctypes.byref(vtype)
                )
                if rc == CsError.CS_ERR_NO_SECTIONS:
                    break
                check(rc, "cmap_iter_next", prefix=prefix)
                keys.append(name.value.decode())
        finally:
            self._lib.cmap_iter_finalize(self.handle.value, it.value)
        out: dict[str, CmapValue] = {}
        for key in keys:
            value = self.get_or(key)
            if value is not None:
                out[key] = value
        return out
