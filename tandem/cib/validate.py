"""Consistency checks of a CIB, collecting every problem (not just the first).

Why not the RelaxNG schema alone: Pacemaker's schema errors are hard to read
("Invalid sequence in interleave") and stop at the first broken element.
Administrators need one line per problem that names the element, its id and
the line, and a hint at the fix.  :func:`validate` therefore checks the rules
that matter for a cluster's behaviour directly:

- duplicate ids (every ``id`` in the configuration is an XML ID; node ids and
  names must be unique among nodes);
- constraints referring to resources that do not exist;
- scores that are neither integers nor ``INFINITY``/``-INFINITY``;
- missing required attributes (a primitive without class or type...);
- ``id-ref`` pointing to no element.

Location constraints on nodes the CIB does not list are accepted, as
Pacemaker accepts them (the node may join later): they only give a warning.

The module also reads and bumps the CIB's version triple
(admin_epoch, epoch, num_updates), which decides which copy of a CIB wins
when nodes disagree.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from lxml import etree

from tandem.cib import scores, xmlio
from tandem.errors import CibError, Report, ReportList, Severity

RESOURCE_TAGS = ("primitive", "group", "clone", "master", "bundle", "template")

# element tag -> attributes that refer to a resource id
RESOURCE_REFS: dict[str, tuple[str, ...]] = {
    "rsc_location": ("rsc",),
    "rsc_colocation": ("rsc", "with-rsc"),
    "rsc_order": ("first", "then"),
    "rsc_ticket": ("rsc",),
}

# element tag -> attributes holding a score
SCORE_ATTRS: dict[str, tuple[str, ...]] = {
    "rsc_location": ("score",),
    "rsc_colocation": ("score",),
    "rsc_order": ("score",),
    "rule": ("score",),
    "resource_set": ("score",),
}

# Elements whose ``id`` is a reference or a free-form name, not an XML ID.
_NOT_AN_ID = {"node", "resource_ref", "role", "obj_ref"}


def _label(el: etree._Element) -> str:
    """``rsc_colocation "c1" (line 17)``: how every message names an element."""
    tag = el.tag if isinstance(el.tag, str) else "comment"
    el_id = el.get("id")
    text = f'{tag} "{el_id}"' if el_id is not None else tag
    if el.sourceline:
        text += f" (line {el.sourceline})"
    return text


def _report(
    code: str,
    el: etree._Element,
    message: str,
    severity: Severity = Severity.ERROR,
    **payload: object,
) -> Report:
    tag = el.tag if isinstance(el.tag, str) else "comment"
    data = {"element": tag, "id": el.get("id"), "line": el.sourceline}
    data.update(payload)
    return Report(code, f"{_label(el)}: {message}", data, severity)


def _elements(root: etree._Element) -> Iterable[etree._Element]:
    # Only real elements (comments and processing instructions have no attributes).
    return (el for el in root.iter() if isinstance(el.tag, str))


def _configuration(root: etree._Element) -> etree._Element | None:
    return root.find("configuration")


def _check_duplicate_ids(conf: etree._Element, reports: ReportList) -> dict[str, etree._Element]:
    seen: dict[str, etree._Element] = {}
    for el in _elements(conf):
        el_id = el.get("id")
        if el_id is None or el.tag in _NOT_AN_ID:
            continue
        first = seen.get(el_id)
        if first is None:
            seen[el_id] = el
            continue
        where = f" at line {first.sourceline}" if first.sourceline else ""
        reports.add(
            _report(
                "CIB_DUPLICATE_ID",
                el,
                f'id "{el_id}" is already used by {first.tag}{where}: ids must be unique, rename one',
                first_element=first.tag,
            )
        )
    return seen


def _check_nodes(conf: etree._Element, reports: ReportList) -> set[str]:
    names: set[str] = set()
    ids: dict[str, etree._Element] = {}
    unames: dict[str, etree._Element] = {}
    nodes = conf.find("nodes")
    if nodes is None:
        return names
    for node in nodes.findall("node"):
        _require(node, ("id", "uname"), reports)
        node_id, uname = node.get("id"), node.get("uname")
        if node_id is not None:
            if node_id in ids:
                reports.add(
                    _report(
                        "CIB_DUPLICATE_ID",
                        node,
                        f'node id "{node_id}" is already used by another node: node ids must be unique',
                    )
                )
            ids.setdefault(node_id, node)
        if uname is not None:
            if uname in unames:
                reports.add(
                    _report(
                        "CIB_DUPLICATE_NODE_NAME",
                        node,
                        f'node name "{uname}" is already used by another node: node names must be unique',
                        uname=uname,
                    )
                )
            unames.setdefault(uname, node)
            names.add(uname)
    return names


def _require(el: etree._Element, attrs: Iterable[str], reports: ReportList) -> None:
    for attr in attrs:
        if el.get(attr) in (None, ""):
            reports.add(
                _report(
                    "CIB_MISSING_ATTRIBUTE",
                    el,
                    f"required attribute '{attr}' is missing",
                    attribute=attr,
                )
            )


def _check_required(conf: etree._Element, reports: ReportList) -> None:
    for el in _elements(conf):
        tag = el.tag
        if tag == "primitive":
            if el.get("template"):
                _require(el, ("id",), reports)
                continue
            _require(el, ("id", "class", "type"), reports)
            if el.get("class") == "ocf":
                _require(el, ("provider",), reports)
        elif tag == "template":
            _require(el, ("id", "class", "type"), reports)
        elif tag in ("group", "clone", "master", "bundle"):
            _require(el, ("id",), reports)
        elif tag == "op":
            _require(el, ("id", "name", "interval"), reports)
        elif tag == "nvpair":
            if el.get("id-ref") is None:
                _require(el, ("id", "name"), reports)
        elif tag in (
            "cluster_property_set",
            "meta_attributes",
            "instance_attributes",
            "utilization",
            "rule",
        ):
            if el.get("id-ref") is None:
                _require(el, ("id",), reports)
        elif tag == "rsc_location":
            _require(el, ("id",), reports)
            has_set = el.find("resource_set") is not None
            if not (el.get("rsc") or el.get("rsc-pattern") or has_set):
                reports.add(
                    _report(
                        "CIB_MISSING_ATTRIBUTE",
                        el,
                        "required attribute 'rsc' is missing (or give rsc-pattern or a resource_set)",
                        attribute="rsc",
                    )
                )
            if el.get("node") is not None:
                if el.get("score") is None and el.get("score-attribute") is None:
                    reports.add(
                        _report(
                            "CIB_MISSING_ATTRIBUTE",
                            el,
                            "required attribute 'score' is missing (a node preference needs a score)",
                            attribute="score",
                        )
                    )
            elif el.find("rule") is None:
                reports.add(
                    _report(
                        "CIB_MISSING_ATTRIBUTE",
                        el,
                        "required attribute 'node' is missing (or give a rule)",
                        attribute="node",
                    )
                )
        elif tag == "rsc_colocation":
            _require(el, ("id",), reports)
            if el.find("resource_set") is None:
                _require(el, ("rsc", "with-rsc"), reports)
        elif tag == "rsc_order":
            _require(el, ("id",), reports)
            if el.find("resource_set") is None:
                _require(el, ("first", "then"), reports)
        elif tag == "rsc_ticket":
            _require(el, ("id", "ticket"), reports)


def _check_references(
    conf: etree._Element, resources: set[str], nodes: set[str], reports: ReportList
) -> None:
    constraints = conf.find("constraints")
    if constraints is None:
        return
    for cons in constraints:
        if not isinstance(cons.tag, str):
            continue
        for attr in RESOURCE_REFS.get(cons.tag, ()):
            ref = cons.get(attr)
            if ref and ref not in resources:
                reports.add(
                    _report(
                        "CIB_CONSTRAINT_MISSING_RESOURCE",
                        cons,
                        f'{attr} refers to resource "{ref}", which does not exist: '
                        "create the resource or remove the constraint",
                        attribute=attr,
                        resource=ref,
                    )
                )
        for ref_el in cons.iter("resource_ref"):
            ref = ref_el.get("id")
            if ref and ref not in resources:
                reports.add(
                    _report(
                        "CIB_CONSTRAINT_MISSING_RESOURCE",
                        cons,
                        f'resource_ref (line {ref_el.sourceline}) refers to resource "{ref}", '
                        "which does not exist: create the resource or remove it from the set",
                        attribute="resource_ref",
                        resource=ref,
                    )
                )
        if cons.tag == "rsc_location":
            node = cons.get("node")
            if node and nodes and node not in nodes:
                reports.add(
                    _report(
                        "CIB_LOCATION_UNKNOWN_NODE",
                        cons,
                        f'node "{node}" is not a known node; the constraint applies if it joins',
                        Severity.WARNING,
                        node=node,
                    )
                )


def _check_scores(conf: etree._Element, reports: ReportList) -> None:
    for el in _elements(conf):
        for attr in SCORE_ATTRS.get(el.tag, ()):
            value = el.get(attr)
            if value is not None and not scores.is_score(value):
                reports.add(
                    _report(
                        "INVALID_SCORE",
                        el,
                        f"{attr} '{value}' is not a valid score: use an integer, "
                        "INFINITY or -INFINITY",
                        attribute=attr,
                        value=value,
                    )
                )


def _check_id_refs(
    root: etree._Element, ids: dict[str, etree._Element], reports: ReportList
) -> None:
    for el in _elements(root):
        ref = el.get("id-ref")
        if ref is not None and ref not in ids:
            reports.add(
                _report(
                    "CIB_MISSING_ID_REF",
                    el,
                    f'id-ref "{ref}" refers to no element: fix the id-ref or define "{ref}"',
                    ref=ref,
                )
            )


def validate(root: etree._Element) -> ReportList:
    """Check a parsed CIB; return every problem found (errors and warnings)."""
    reports = ReportList()
    if root.tag != xmlio.ROOT_TAG:
        reports.add(_report("CIB_NOT_A_CIB", root, f"root element is <{root.tag}>, expected <cib>"))
        return reports
    conf = _configuration(root)
    if conf is None:
        reports.add(
            _report(
                "CIB_MISSING_ELEMENT",
                root,
                "has no <configuration> section: a CIB needs configuration and status",
                missing="configuration",
            )
        )
        return reports
    for section in ("crm_config", "nodes", "resources", "constraints"):
        if conf.find(section) is None:
            reports.add(
                _report(
                    "CIB_MISSING_ELEMENT",
                    conf,
                    f"has no <{section}> section",
                    missing=section,
                )
            )
    ids = _check_duplicate_ids(conf, reports)
    node_names = _check_nodes(conf, reports)
    _check_required(conf, reports)
    # templates live in <resources> too, and constraints may name them
    rsc_section = conf.find("resources")
    resources: set[str] = set()
    if rsc_section is not None:
        resources = {
            str(el.get("id"))
            for el in _elements(rsc_section)
            if el.tag in RESOURCE_TAGS and el.get("id")
        }
    # constraints may also name a tag (configuration/tags/tag), which stands for its members
    tags = conf.find("tags")
    if tags is not None:
        resources |= {str(t.get("id")) for t in tags.findall("tag") if t.get("id")}
    _check_references(conf, resources, node_names, reports)
    _check_scores(conf, reports)
    _check_id_refs(conf, ids, reports)
    return reports


def load_valid(path: str | os.PathLike[str]) -> etree._Element:
    """Parse and validate a CIB file; raise CibError carrying every error report."""
    root = xmlio.parse_file(path)
    reports = validate(root)
    if reports.has_errors:
        raise CibError(*[_with_source(r, str(path)) for r in reports.errors])
    return root


def _with_source(report: Report, source: str) -> Report:
    return Report(
        report.code,
        f"{source}: {report.message}",
        {**report.payload, "file": source},
        report.severity,
        report.force_code,
    )


# ---------------------------------------------------------------------------
# Versions: (admin_epoch, epoch, num_updates)


def _int_attr(root: etree._Element, name: str) -> int:
    value = root.get(name, "0")
    try:
        return int(value)
    except ValueError:
        raise CibError(
            Report(
                "CIB_BAD_VERSION",
                f"cib: attribute {name}='{value}' is not an integer",
                {"element": "cib", "attribute": name, "value": value},
            )
        ) from None


def get_versions(root: etree._Element) -> tuple[int, int, int]:
    """(admin_epoch, epoch, num_updates): compared in this order, the larger CIB wins."""
    return (
        _int_attr(root, "admin_epoch"),
        _int_attr(root, "epoch"),
        _int_attr(root, "num_updates"),
    )


def compare_versions(a: etree._Element, b: etree._Element) -> int:
    """-1, 0 or 1 as ``a`` is older than, the same as or newer than ``b``."""
    va, vb = get_versions(a), get_versions(b)
    return (va > vb) - (va < vb)


def bump_epoch(root: etree._Element) -> tuple[int, int, int]:
    """A configuration change: epoch + 1, num_updates back to 0."""
    admin, epoch, _ = get_versions(root)
    root.set("admin_epoch", str(admin))
    root.set("epoch", str(epoch + 1))
    root.set("num_updates", "0")
    return get_versions(root)


def bump_num_updates(root: etree._Element) -> tuple[int, int, int]:
    """A status change (operation result, attribute): num_updates + 1."""
    admin, epoch, updates = get_versions(root)
    root.set("admin_epoch", str(admin))
    root.set("epoch", str(epoch))
    root.set("num_updates", str(updates + 1))
    return get_versions(root)


def bump_admin_epoch(root: etree._Element) -> tuple[int, int, int]:
    """An administrator forcing this copy to win everywhere: admin_epoch + 1."""
    admin, epoch, updates = get_versions(root)
    root.set("admin_epoch", str(admin + 1))
    root.set("epoch", str(epoch))
    root.set("num_updates", str(updates))
    return get_versions(root)
