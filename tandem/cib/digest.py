"""Operation digests, computed the way Pacemaker records them.

Why: every ``lrm_rsc_op`` carries an ``op-digest`` (MD5 of the parameters the
operation ran with).  The scheduler recomputes it from the current resource
definition; a difference means the definition changed, so the resource must
restart.  The executor records the same value when it runs an operation.

Recipe (../shared/notes/op-digests.md, checked against the corpus):
1. the resource's instance attributes, the operation's own instance
   attributes on top;
2. for a recurring operation (interval > 0) add ``CRM_meta_timeout`` (ms);
3. sort by name, render `` <parameters a="1" b="2"/>`` + newline with XML
   escaping (`` <parameters/>`` when empty);
4. MD5, lowercase hex.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from xml.sax.saxutils import quoteattr

DEFAULT_OP_TIMEOUT_MS = 20000


def _escape_attr(value: str) -> str:
    # lxml / libxml2 escape &, <, > and " in attribute values; quoteattr may
    # switch to single quotes, which libxml2 never does: force double quotes.
    q = quoteattr(value, {'"': "&quot;", "\n": "&#10;", "\r": "&#13;", "\t": "&#9;"})
    if q.startswith("'"):
        q = '"' + q[1:-1] + '"'
    return q


def parameters_text(params: Mapping[str, str]) -> str:
    if not params:
        return " <parameters/>\n"
    body = " ".join(f"{name}={_escape_attr(str(params[name]))}" for name in sorted(params))
    return f" <parameters {body}/>\n"


def digest_params(
    rsc_params: Mapping[str, str],
    op_params: Mapping[str, str] | None = None,
    *,
    interval_ms: int = 0,
    timeout_ms: int | None = None,
) -> dict[str, str]:
    """The parameter set an operation's digest is computed over."""
    merged = dict(rsc_params)
    if op_params:
        merged.update(op_params)
    if interval_ms > 0:
        merged["CRM_meta_timeout"] = str(
            timeout_ms if timeout_ms is not None else DEFAULT_OP_TIMEOUT_MS
        )
    return merged


def op_digest(
    rsc_params: Mapping[str, str],
    op_params: Mapping[str, str] | None = None,
    *,
    interval_ms: int = 0,
    timeout_ms: int | None = None,
) -> str:
    """MD5 hex digest for an operation (``op-digest``)."""
    text = parameters_text(
        digest_params(rsc_params, op_params, interval_ms=interval_ms, timeout_ms=timeout_ms)
    )
    return hashlib.md5(text.encode("utf-8")).hexdigest()
