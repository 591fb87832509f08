"""Client side of tandemd's local API (what the CLI and other layers call).

Why a unix socket with one JSON object per line: the CLI runs as a short-lived
process on the same node as the daemon; a local socket needs no
authentication beyond file permissions (root only), and JSON lines are
trivial to speak from Python and easy to debug with ``socat``.

Protocol (one request per connection):

    request:  {"cmd": "get_cib"}                       -> {"ok": true, "result": "<cib ...>"}
              {"cmd": "apply", "ops": [OP, ...]}       -> {"ok": true, "result": {"version": "0:5:0"}}
              {"cmd": "replace", "xml": "<cib ...>"}   -> {"ok": true, "result": {"version": ...}}
              {"cmd": "info"}                          -> {"ok": true, "result": {...}}
              {"cmd": "shutdown"}                      -> {"ok": true, "result": {...}}
    failure:                                              {"ok": false, "reports": [Report.to_dict()]}

OP (see :mod:`tandem.daemon.cibops` for the exact semantics):

    {"op": "create",  "parent": XPATH, "xml": "<primitive id=.../>"}
    {"op": "modify",  "xml": "<tag id=...>"}               (merge into the element with that id)
    {"op": "delete",  "xpath": XPATH}
    {"op": "replace", "xpath": XPATH, "xml": "<...>"}      (e.g. a whole section)

Every change is validated, multicast through corosync and applied by every
node in the same order; the call returns once it has been applied here.
"""

from __future__ import annotations

import json
import os
import socket
from typing import Any

from tandem.errors import NotRunningError, Report, TandemError

#: Where tandemd listens.  /run is private per lab node, and per machine otherwise.
RUN_DIR = os.environ.get("TANDEM_RUN_DIR", "/run/tandem")
SOCKET_NAME = "tandemd.sock"

NOT_RUNNING = "cluster is not currently running on this node"


def socket_path() -> str:
    return os.path.join(os.environ.get("TANDEM_RUN_DIR", RUN_DIR), SOCKET_NAME)


def call(cmd: str, timeout: float = 60.0, **args: Any) -> Any:
    """Send one request to the local tandemd and return its ``result``.

    Raises NotRunningError when no daemon listens, and TandemError carrying
    the daemon's reports when the request failed.
    """
    path = socket_path()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        try:
            sock.connect(path)
        except (FileNotFoundError, ConnectionRefusedError) as exc:
            raise NotRunningError(NOT_RUNNING, socket=path) from exc
        sock.sendall(json.dumps({"cmd": cmd, **args}).encode() + b"\n")
        data = b""
        while not data.endswith(b"\n"):
            try:
                chunk = sock.recv(1 << 20)
            except TimeoutError as exc:
                raise TandemError(
                    f"tandemd did not answer '{cmd}' within {timeout:g} s", socket=path
                ) from exc
            if not chunk:
                break
            data += chunk
    finally:
        sock.close()
    if not data:
        raise NotRunningError(NOT_RUNNING, socket=path)
    answer = json.loads(data)
    if answer.get("ok"):
        return answer.get("result")
    reports = [
        Report(r["code"], r["message"], r.get("payload") or {}) for r in answer.get("reports", [])
    ]
    raise TandemError(*reports) if reports else TandemError("tandemd refused the request")


def is_running() -> bool:
    """True when a tandemd answers on this node."""
    try:
        call("info", timeout=5.0)
    except TandemError:
        return False
    return True


def get_cib_xml() -> str:
    """The live CIB (configuration and status) of this node, as XML text."""
    return str(call("get_cib"))


def apply(ops: list[dict[str, Any]]) -> dict[str, Any]:
    """Apply change operations atomically cluster-wide; returns {"version": "A:E:N"}."""
    return dict(call("apply", ops=ops))


def replace_cib(xml: str) -> dict[str, Any]:
    """``cib push``: replace the configuration; epoch becomes the highest seen + 1."""
    return dict(call("replace", xml=xml))


def cluster_info() -> dict[str, Any]:
    """Status summary: {"name", "nodeid", "members": [names], "dc", "quorate", "nodes": {...}, ...}."""
    return dict(call("info"))


def request_shutdown() -> dict[str, Any]:
    """Ask the local daemon for a clean shutdown (``cluster stop``); returns at once."""
    return dict(call("shutdown"))
