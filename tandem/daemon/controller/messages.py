"""CPG messages between the DC's controller and the nodes' agents.

Why CPG and not a socket per node: the daemon's group already gives total
order, so an operation request reaches its node *after* every CIB change the
DC had seen when it asked (the node never runs a probe against a history the
DC has not wiped yet).  CPG only multicasts: every member receives every
message and ignores those addressed to another node.

Messages (JSON objects; ``t`` starts with ``ctl-`` so the daemon can route
them without knowing more):

- ``{"t": "ctl-exec", "node": NAME, "req": REQUEST, "inc": INCARNATION}``: run
  an operation (a node whose incarnation is not ``inc`` drops it);
- ``{"t": "ctl-cancel", "node": NAME, "rsc": ID, "action": A, "interval": MS}``;
- ``{"t": "ctl-hello", "node": NAME, "pid": PID, "token": TOKEN}``: this
  daemon's incarnation (``PID-TOKEN``), sent at every view change;
- ``{"t": "ctl-record", "node": NAME, "ops": [...]}``: a node that cannot
  change the CIB itself (its daemon is stopping) asks the DC to apply its
  result records.
"""

from __future__ import annotations

import json
from typing import Any

from tandem.agents.ocf import AgentSpec
from tandem.daemon.executor.core import OpRequest

PREFIX = "ctl-"


def request_to_dict(req: OpRequest) -> dict[str, Any]:
    return {
        "rsc": req.rsc_id,
        "class": req.spec.rclass,
        "provider": req.spec.provider,
        "type": req.spec.type,
        "action": req.action,
        "interval": req.interval_ms,
        "timeout": req.timeout_ms,
        "params": dict(req.params),
        "op_params": dict(req.op_params),
        "meta": dict(req.meta),
        "key": req.transition_key,
    }


def request_from_dict(d: dict[str, Any]) -> OpRequest:
    return OpRequest(
        rsc_id=str(d["rsc"]),
        spec=AgentSpec(str(d["class"]), str(d["type"]), d.get("provider")),
        action=str(d["action"]),
        interval_ms=int(d.get("interval", 0)),
        timeout_ms=int(d.get("timeout", 20000)),
        params={str(k): str(v) for k, v in (d.get("params") or {}).items()},
        op_params={str(k): str(v) for k, v in (d.get("op_params") or {}).items()},
        meta={str(k): str(v) for k, v in (d.get("meta") or {}).items()},
        transition_key=str(d.get("key", "")),
    )


def encode(msg: dict[str, Any]) -> bytes:
    return json.dumps(msg, separators=(",", ":")).encode()


def exec_msg(node: str, req: OpRequest, incarnation: str | None = None) -> bytes:
    msg: dict[str, Any] = {"t": "ctl-exec", "node": node, "req": request_to_dict(req)}
    if incarnation is not None:
        msg["inc"] = incarnation
    return encode(msg)


def cancel_msg(node: str, rsc: str, action: str, interval_ms: int) -> bytes:
    return encode({"t": "ctl-cancel", "node": node, "rsc": rsc, "action": action,
                   "interval": interval_ms})


def record_msg(node: str, ops: list[dict[str, Any]] | tuple[dict[str, Any], ...]) -> bytes:
    return encode({"t": "ctl-record", "node": node, "ops": list(ops)})


def decode(payload: bytes) -> dict[str, Any] | None:
    """The message if it is a controller message, else None (one of the daemon's own kinds).

    Every controller message is written by :func:`encode`, so a prefix test
    suffices and the daemon's large ``sync`` messages are never parsed twice.
    """
    if not payload.startswith(b'{"t":"ctl-'):
        return None
    try:
        msg = json.loads(payload)
    except ValueError:
        return None
    return msg if isinstance(msg, dict) else None
