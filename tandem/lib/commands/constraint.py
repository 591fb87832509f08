"""Constraint commands: colocation, order, location, remove, config.

Ids follow pcs: ``colocation-<rsc>-<with>-<score>``, ``order-<first>-<then>-<kind>``
(``mandatory`` when no kind is given), ``location-<rsc>-<node>-<score>``, each
sanitised and made unique with ``-1``, ``-2``...
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from lxml import etree

from tandem.errors import Report, Severity, error, warning
from tandem.lib import cib_tools
from tandem.lib.env import LibraryEnvironment, ReportProcessor
from tandem.lib.values import PCMK_BOOLEANS, negate_score, validate_score

CONSTRAINT_TAGS = ("rsc_location", "rsc_colocation", "rsc_order", "rsc_ticket")
ORDER_ACTIONS = ("start", "promote", "demote", "stop")
ORDER_KINDS = ("Optional", "Mandatory", "Serialize")
ROLES = ("Promoted", "Started", "Stopped", "Unpromoted", "Master", "Slave")
NODE_CHECK_SKIPPED = "Validation for node existence in the cluster will be skipped"


def _info(code: str, message: str, **payload: object) -> Report:
    return Report(code, message, payload, Severity.INFO)


def _missing_resource(cib: etree._Element, rid: str) -> Report | None:
    if cib_tools.find_resource(cib, rid) is None:
        return error("RESOURCE_DOES_NOT_EXIST", f"Resource '{rid}' does not exist", id=rid)
    return None


def _constraints(cib: etree._Element) -> etree._Element:
    return cib_tools.section(cib, "constraints")


def _report_missing(rp: ReportProcessor, cib: etree._Element, ids: Iterable[str]) -> None:
    for rid in ids:
        r = _missing_resource(cib, rid)
        if r:
            rp.report(r)


def _invalid_value(what: str, value: str, allowed: Iterable[str]) -> Report:
    return error(
        "INVALID_OPTION_VALUE",
        f"invalid {what} value '{value}', allowed values are: "
        + ", ".join(f"'{a}'" for a in allowed),
        option_value=value,
    )


def _invalid_options(kind: str, unknown: list[str], allowed: Iterable[str]) -> Report:
    return error(
        "INVALID_OPTIONS",
        f"invalid {kind} option"
        + ("s: " if len(unknown) > 1 else " ")
        + ", ".join(f"'{u}'" for u in unknown)
        + ", allowed options are: "
        + ", ".join(f"'{a}'" for a in allowed),
        option_names=unknown,
    )


def _check_new_id(rp: ReportProcessor, cib: etree._Element, cid: str | None) -> None:
    """A user-given constraint id must be valid and not taken."""
    if cid is None:
        return
    bad = cib_tools.validate_id(cid, "constraint id")
    if bad:
        rp.report(bad)
    elif cib_tools.does_id_exist(cib, cid):
        rp.report(error("ID_ALREADY_EXISTS", f"'{cid}' already exists", id=cid))


def _normalize_role(role: str) -> str:
    return {"Master": "Promoted", "Slave": "Unpromoted"}.get(role.capitalize(), role.capitalize())


# --------------------------------------------------------------------------- colocation


def colocation_add(
    env: LibraryEnvironment,
    rsc: str,
    with_rsc: str,
    score: str = "INFINITY",
    *,
    rsc_role: str | None = None,
    with_rsc_role: str | None = None,
    options: Mapping[str, str] | None = None,
) -> etree._Element:
    """``constraint colocation add [ROLE] RSC with [ROLE] WITH [SCORE] [options] [id=ID]``."""
    rp = env.report_processor
    cib = env.get_cib()
    options = dict(options or {})
    _report_missing(rp, cib, (rsc, with_rsc))
    score_report = validate_score(score)
    if score_report:
        rp.report(score_report)
    for role in (rsc_role, with_rsc_role):
        if role is not None and role.capitalize() not in ROLES:
            rp.report(_invalid_value("role", role, sorted(ROLES)))
    cid = options.pop("id", None)
    _check_new_id(rp, cib, cid)
    unknown = sorted(set(options) - {"node-attribute", "influence"})
    if unknown:
        rp.report(_invalid_options("colocation", unknown, ("influence", "node-attribute")))
    if not rp.has_errors:
        for c in _constraints(cib).iterfind("rsc_colocation"):
            if {c.get("rsc"), c.get("with-rsc")} == {rsc, with_rsc} and c.find(
                "resource_set"
            ) is None:
                rp.report(_duplicate(c))
    rp.raise_if_errors()
    el = etree.SubElement(_constraints(cib), "rsc_colocation")
    el.set("rsc", rsc)
    el.set("with-rsc", with_rsc)
    el.set("score", score.lstrip("+") if score.lstrip("+") == "INFINITY" else score)
    if rsc_role:
        el.set("rsc-role", _normalize_role(rsc_role))
    if with_rsc_role:
        el.set("with-rsc-role", _normalize_role(with_rsc_role))
    for k, v in options.items():
        el.set(k, v)
    el.set(
        "id",
        cid
        or cib_tools.find_unique_id(
            cib, cib_tools.sanitize_id(f"colocation-{rsc}-{with_rsc}-{el.get('score')}")
        ),
    )
    env.push_cib()
    return el


def _duplicate(existing: etree._Element) -> Report:
    line = describe(existing, full=True)
    return error(
        "DUPLICATE_CONSTRAINTS_EXIST",
        f"duplicate constraint already exists\n  {line}",
        force_code="FORCE",
        constraint_ids=[existing.get("id")],
    )


# --------------------------------------------------------------------------- order


def order_add(
    env: LibraryEnvironment,
    first: str,
    then: str,
    *,
    first_action: str = "start",
    then_action: str = "start",
    options: Mapping[str, str] | None = None,
) -> etree._Element:
    """``constraint order [ACTION] FIRST then [ACTION] THEN [kind=..] [symmetrical=..]``."""
    rp = env.report_processor
    cib = env.get_cib()
    options = dict(options or {})
    _report_missing(rp, cib, (first, then))
    for action in (first_action, then_action):
        if action not in ORDER_ACTIONS:
            rp.report(_invalid_value("action", action, ORDER_ACTIONS))
    kind = options.get("kind")
    if kind is not None and kind not in ORDER_KINDS:
        rp.report(_invalid_value("kind", kind, ORDER_KINDS))
    for opt in ("symmetrical", "require-all"):
        value = options.get(opt)
        if value is not None and value.lower() not in PCMK_BOOLEANS:
            rp.report(_invalid_value(opt, value, PCMK_BOOLEANS))
    unknown = sorted(set(options) - {"kind", "symmetrical", "require-all", "id", "score"})
    if unknown:
        rp.report(
            _invalid_options("order", unknown, ("id", "kind", "require-all", "symmetrical"))
        )
    cid = options.pop("id", None)
    _check_new_id(rp, cib, cid)
    if not rp.has_errors:
        for c in _constraints(cib).iterfind("rsc_order"):
            if c.get("first") == first and c.get("then") == then:
                rp.report(_duplicate(c))
    rp.raise_if_errors()
    el = etree.SubElement(_constraints(cib), "rsc_order")
    el.set("first", first)
    el.set("then", then)
    if kind is not None:
        el.set("kind", kind)
    el.set("first-action", first_action)
    el.set("then-action", then_action)
    shown = [f"first-action={first_action}", f"then-action={then_action}"]
    for k in ("symmetrical", "require-all", "score"):
        if k in options:
            el.set(k, options[k])
            shown.append(f"{k}={options[k]}")
    suffix = kind if kind is not None else "mandatory"
    el.set(
        "id",
        cid or cib_tools.find_unique_id(cib, cib_tools.sanitize_id(f"order-{first}-{then}-{suffix}")),
    )
    rp.report(
        _info(
            "ORDER_ADDED",
            f"Adding {first} {then} (kind: {kind or 'Mandatory'}) (Options: {' '.join(shown)})",
            id=el.get("id"),
        )
    )
    env.push_cib()
    return el


# --------------------------------------------------------------------------- location


def location_prefers(
    env: LibraryEnvironment,
    rsc: str,
    node_scores: Sequence[tuple[str, str | None]],
    *,
    avoids: bool = False,
    known_nodes: Sequence[str] | None = None,
) -> list[etree._Element]:
    """``constraint location RSC prefers|avoids NODE[=SCORE]...``.

    ``known_nodes``: the cluster's nodes, to refuse unknown ones (forceable);
    None skips the check (CIB file), with pcs's warning.
    """
    rp = env.report_processor
    cib = env.get_cib()
    if not node_scores:
        rp.report(error("NO_NODES", "no nodes specified"))
    if known_nodes is None:
        rp.report(warning("NODE_CHECK_SKIPPED", NODE_CHECK_SKIPPED))
    rsc_id = rsc
    for prefix in ("resource%", "%"):
        if rsc_id.startswith(prefix):
            rsc_id = rsc_id[len(prefix):]
            break
    _report_missing(rp, cib, (rsc_id,))
    wanted: list[tuple[str, str]] = []
    for node, score in node_scores:
        if not node:
            rp.report(error("EMPTY_NODE_NAME", "node name cannot be empty", score=score))
            continue
        score = "INFINITY" if score in (None, "") else score
        bad = validate_score(score)
        if bad:
            rp.report(bad)
            continue
        if avoids:
            score = negate_score(score)
        if known_nodes is not None and node not in known_nodes:
            rp.report(
                error(
                    "NODE_NOT_FOUND",
                    f"Node '{node}' does not seem to be in the cluster",
                    force_code="FORCE",
                    node=node,
                )
            )
        wanted.append((node, score.lstrip("+")))
    rp.raise_if_errors()
    cons = _constraints(cib)
    created: list[etree._Element] = []
    for node, score in wanted:
        # A new preference for the same resource and node replaces the old one.
        for old in list(cons.iterfind("rsc_location")):
            if (
                old.get("rsc") == rsc_id
                and old.get("node") == node
                and old.get("role") is None
                and old.find("rule") is None
                and not old.get("id", "").startswith("cli-")
            ):
                cons.remove(old)
        el = etree.SubElement(cons, "rsc_location")
        el.set("id", cib_tools.find_unique_id(
            cib, cib_tools.sanitize_id(f"location-{rsc_id}-{node}-{score}")
        ))
        el.set("rsc", rsc_id)
        el.set("node", node)
        el.set("score", score)
        created.append(el)
    env.push_cib()
    return created


# --------------------------------------------------------------------------- remove


def remove(env: LibraryEnvironment, ids: Sequence[str]) -> None:
    """``constraint remove|delete ID...``: constraints or location rules by id."""
    rp = env.report_processor
    cib = env.get_cib()
    found: list[etree._Element] = []
    if not ids:
        rp.report(error("NO_CONSTRAINTS", "You must specify constraint(s) to remove"))
    for cid in ids:
        el = cib_tools.find_by_id(cib, cid)
        parent = el.getparent() if el is not None else None
        is_constraint = el is not None and el.tag in CONSTRAINT_TAGS and parent is not None and (
            parent.tag == "constraints"
        )
        is_rule = el is not None and el.tag == "rule" and parent is not None and (
            parent.tag == "rsc_location"
        )
        if not (is_constraint or is_rule):
            rp.report(
                error("CONSTRAINT_NOT_FOUND", f"Unable to find constraint - '{cid}'", id=cid)
            )
            continue
        assert el is not None
        found.append(el)
    rp.raise_if_errors()
    for el in found:
        parent = el.getparent()
        if parent is None:
            continue
        parent.remove(el)
        if el.tag == "rule" and parent.find("rule") is None:
            gp = parent.getparent()
            if gp is not None:
                gp.remove(parent)
    env.push_cib()


# --------------------------------------------------------------------------- config


@dataclass
class ConstraintListing:
    """Constraints grouped as pcs lists them."""

    location: dict[str, list[etree._Element]] = field(default_factory=dict)
    order: list[etree._Element] = field(default_factory=list)
    colocation: list[etree._Element] = field(default_factory=list)
    ticket: list[etree._Element] = field(default_factory=list)


def config(env: LibraryEnvironment) -> ConstraintListing:
    listing = ConstraintListing()
    cons = env.get_cib().find("configuration/constraints")
    if cons is None:
        return listing
    for c in cons:
        if c.tag == "rsc_location":
            key = c.get("rsc") or f"pattern:{c.get('rsc-pattern', '')}"
            listing.location.setdefault(key, []).append(c)
        elif c.tag == "rsc_order":
            listing.order.append(c)
        elif c.tag == "rsc_colocation":
            listing.colocation.append(c)
        elif c.tag == "rsc_ticket":
            listing.ticket.append(c)
    return listing


def describe(c: etree._Element, full: bool = False) -> str:
    """One-line description of a constraint in the walkthrough's (pcs 0.10) layout."""
    suffix = f" (id:{c.get('id')})" if full else ""
    if c.tag == "rsc_order":
        extra = ""
        kind = c.get("kind")
        if kind is None and c.get("score") is None:
            kind = "Mandatory"
        if kind is not None:
            extra += f" (kind:{kind})"
        if c.get("score") is not None:
            extra += f" (score:{c.get('score')})"
        if c.get("symmetrical") is not None and c.get("symmetrical", "").lower() in (
            "false", "no", "off", "n", "0"
        ):
            extra += " (non-symmetrical)"
        if c.get("require-all") is not None:
            extra += f" (Options: require-all={c.get('require-all')})"
        return (
            f"{c.get('first-action', 'start')} {c.get('first')} then "
            f"{c.get('then-action', 'start')} {c.get('then')}{extra}{suffix}"
        )
    if c.tag == "rsc_colocation":
        roles = ""
        if c.get("rsc-role"):
            roles += f" (rsc-role:{c.get('rsc-role')})"
        if c.get("with-rsc-role"):
            roles += f" (with-rsc-role:{c.get('with-rsc-role')})"
        return f"{c.get('rsc')} with {c.get('with-rsc')} (score:{c.get('score')}){roles}{suffix}"
    if c.tag == "rsc_location":
        role = f" (role:{c.get('role')})" if c.get("role") else ""
        return f"{c.get('node')} (score:{c.get('score')}){role}{suffix}"
    return f"{c.tag} {c.get('id')}"
