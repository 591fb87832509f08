"""Pure CIB change operations: what every node applies, in delivery order.

Why a module of pure functions: the replicated CIB stays identical on every
node only if applying an operation is *deterministic* -- same input tree, same
operation, same result, same error.  So nothing here reads a clock, the
environment or a file: the wall-clock time written into ``cib-last-written``
comes from the message (the originating node's clock), not from the node that
applies it.

Operations (JSON objects, as the local API and the CPG messages carry them):

- ``{"op": "create", "parent": XPATH, "xml": "<tag id=.../>"}`` appends a new
  element under the single element ``parent`` selects (a bare section name such
  as ``"resources"`` means ``/cib/configuration/resources``); its id must not
  exist yet anywhere in the CIB.
- ``{"op": "modify", "xml": "<tag id=...>", ["parent": XPATH]}`` merges into the
  element of that tag and id: attributes are set, children with an id are
  merged recursively or appended; with ``parent`` a missing element is created
  there (cibadmin's ``--modify --allow-create``).
- ``{"op": "delete", "xpath": XPATH, ["missing_ok": true]}`` removes every
  element selected.
- ``{"op": "replace", "xpath": XPATH, "xml": "<...>"}`` replaces the single
  element selected (e.g. a whole section).

Versions follow Pacemaker: a change to the configuration raises ``epoch`` and
resets ``num_updates``; a change to the status only raises ``num_updates``;
``admin_epoch`` only moves when an administrator pushes a higher one.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable
from typing import Any

from lxml import etree

from tandem.cib import xmlio
from tandem.errors import CibError, Report

Version = tuple[int, int, int]

VERSION_ATTRS = ("admin_epoch", "epoch", "num_updates")

EMPTY_CIB = (
    '<cib crm_feature_set="3.16.1" validate-with="pacemaker-3.9" epoch="0" '
    'num_updates="0" admin_epoch="0"><configuration><crm_config/><nodes/>'
    "<resources/><constraints/></configuration><status/></cib>"
)

SECTIONS = (
    "crm_config",
    "nodes",
    "resources",
    "constraints",
    "rsc_defaults",
    "op_defaults",
    "fencing-topology",
    "tags",
    "acls",
    "alerts",
)


# --------------------------------------------------------------------------- basics


def parse(text: str | bytes, source: str = "CIB") -> etree._Element:
    """Parse CIB XML (CibError naming ``source`` on bad XML or a non-<cib> root)."""
    root = xmlio.parse_string(text, source=source)
    for sect in ("configuration", "status"):
        if root.find(sect) is None:
            if sect == "configuration":
                raise CibError(
                    Report(
                        "CIB_NO_CONFIGURATION",
                        f"{source}: the <cib> element has no <configuration> section",
                        {"source": source},
                    )
                )
            etree.SubElement(root, sect)
    return root


def empty() -> etree._Element:
    return parse(EMPTY_CIB)


def to_text(root: etree._Element, pretty: bool = True) -> str:
    return etree.tostring(root, encoding="unicode", pretty_print=pretty)


def _int_attr(root: etree._Element, name: str) -> int:
    try:
        return int(root.get(name, "0"))
    except ValueError:
        return 0


def version_of(root: etree._Element) -> Version:
    return (
        _int_attr(root, "admin_epoch"),
        _int_attr(root, "epoch"),
        _int_attr(root, "num_updates"),
    )


def version_str(v: Iterable[int]) -> str:
    return ":".join(str(x) for x in v)


def set_version(root: etree._Element, v: Version) -> None:
    for name, value in zip(VERSION_ATTRS, v, strict=True):
        root.set(name, str(value))


def config_text(root: etree._Element) -> bytes:
    conf = root.find("configuration")
    return etree.tostring(conf, method="c14n") if conf is not None else b""


def config_digest(root: etree._Element) -> str:
    """Digest of the configuration and its version: equal digests = same configuration."""
    h = hashlib.sha256()
    h.update(version_str(version_of(root)[:2]).encode())
    h.update(b"\0")
    h.update(config_text(root))
    return h.hexdigest()


def full_digest(root: etree._Element) -> str:
    """Digest of configuration *and* status with the version (join sync compares this)."""
    h = hashlib.sha256()
    h.update(version_str(version_of(root)).encode())
    h.update(b"\0")
    h.update(config_text(root))
    status = root.find("status")
    if status is not None:
        h.update(etree.tostring(status, method="c14n"))
    return h.hexdigest()


def strip_status(root: etree._Element) -> etree._Element:
    """A copy without status content (what is persisted: the status is never restored)."""
    copy = etree.fromstring(etree.tostring(root))
    status = copy.find("status")
    if status is not None:
        for child in list(status):
            status.remove(child)
    for attr in ("have-quorum", "dc-uuid"):
        copy.attrib.pop(attr, None)
    return copy


def _stamp(root: etree._Element, origin: str, ts: float) -> None:
    root.set("cib-last-written", time.strftime("%a %b %d %H:%M:%S %Y", time.gmtime(ts)))
    root.set("update-origin", origin)
    root.set("update-client", "tandem")


# --------------------------------------------------------------------------- operations


def _err(code: str, message: str, **payload: Any) -> CibError:
    return CibError(Report(code, message, payload))


def _xpath_of(target: str) -> str:
    if target in SECTIONS:
        return f"/cib/configuration/{target}"
    if target in ("configuration", "status"):
        return f"/cib/{target}"
    return target


def _select(root: etree._Element, xpath: str) -> list[etree._Element]:
    try:
        found = root.getroottree().xpath(_xpath_of(xpath))
    except etree.XPathError as exc:
        raise _err("CIB_BAD_XPATH", f"invalid XPath '{xpath}': {exc}", xpath=xpath) from None
    if not isinstance(found, list):
        raise _err("CIB_BAD_XPATH", f"XPath '{xpath}' does not select elements", xpath=xpath)
    return [e for e in found if isinstance(e, etree._Element)]


def _select_one(root: etree._Element, xpath: str) -> etree._Element:
    found = _select(root, xpath)
    if len(found) != 1:
        what = "nothing" if not found else f"{len(found)} elements"
        raise _err(
            "CIB_TARGET_NOT_UNIQUE",
            f"XPath '{xpath}' selects {what}, it must select exactly one element",
            xpath=xpath,
        )
    return found[0]


def _fragment(xml: str) -> etree._Element:
    try:
        el = etree.fromstring(
            xml.encode(), etree.XMLParser(remove_blank_text=True, no_network=True)
        )
    except etree.XMLSyntaxError as exc:
        raise _err("CIB_XML_MALFORMED", f"malformed XML in change: {exc.msg}") from None
    return el


def _find_by_id(root: etree._Element, tag: str, el_id: str) -> list[etree._Element]:
    return [e for e in root.iter(tag) if e.get("id") == el_id]


def _all_ids(root: etree._Element) -> set[str]:
    return {e.get("id") for e in root.iter() if isinstance(e.tag, str) and e.get("id")}


# Theory of operation (the status fast path): most changes are operation
# results and node attributes, which touch only <status>.  Copying the whole CIB
# (configuration and every node's history) to apply one record costs time
# proportional to the cluster's size and sits on every failover's critical path
# (a result must be in the CIB before the DC fires the next action).  Such
# batches are applied to the live tree instead, every step recorded in an undo
# journal: an error rolls every step back, so the batch stays atomic and the
# outcome deterministic (the same batch gives the same tree and the same error
# on every node).  A batch that turns out to reach outside <status> is rolled
# back and applied by the copying path.  Both paths run the same steps
# (:func:`_apply_one`); the copying path's journal is simply never replayed.


class _OutsideStatus(Exception):
    """A step of a batch scoped to <status> would touch something else."""


class _Journal:
    """The steps' changes, with undo records replayed backwards by :meth:`rollback`.

    ``status`` set: the batch is scoped to that <status> element (:meth:`inside`
    enforces it); None: anything goes (the copying path).
    """

    def __init__(self, status: etree._Element | None = None) -> None:
        self.status = status
        self.undo: list[Any] = []

    def inside(self, el: etree._Element, parent_ok: bool = False) -> etree._Element:
        """``el`` when the scope allows touching it (inside <status>), else _OutsideStatus."""
        if self.status is None or (parent_ok and el is self.status):
            return el
        node = el.getparent()
        while node is not None and node is not self.status:
            node = node.getparent()
        if node is None:
            raise _OutsideStatus
        return el

    def set(self, el: etree._Element, name: str, value: str) -> None:
        old = el.get(name)
        if old == value:
            return
        el.set(name, value)
        self.undo.append(
            (lambda: el.attrib.pop(name, None)) if old is None else (lambda: el.set(name, old))
        )

    def append(self, parent: etree._Element, el: etree._Element) -> None:
        parent.append(el)
        self.undo.append(lambda: parent.remove(el))

    def remove(self, el: etree._Element) -> None:
        parent = el.getparent()
        index = parent.index(el)
        parent.remove(el)
        self.undo.append(lambda: parent.insert(index, el))

    def replace(self, old: etree._Element, new: etree._Element) -> None:
        parent = old.getparent()
        parent.replace(old, new)
        self.undo.append(lambda: parent.replace(new, old))

    def rollback(self) -> None:
        while self.undo:
            self.undo.pop()()

    def merge(self, target: etree._Element, source: etree._Element) -> None:
        """Set ``source``'s attributes on ``target``; merge children with the same tag
        and id (or the only id-less one of that tag) recursively, append the others."""
        for name, value in source.attrib.items():
            self.set(target, name, value)
        for child in source:
            if not isinstance(child.tag, str):
                continue
            cid = child.get("id")
            if cid is not None:
                match = [c for c in target if c.tag == child.tag and c.get("id") == cid]
            else:
                match = [c for c in target if c.tag == child.tag and c.get("id") is None]
                if len(match) > 1:
                    match = []
            if match:
                self.merge(match[0], child)
            else:
                self.append(target, etree.fromstring(etree.tostring(child)))


def _apply_one(root: etree._Element, op: dict[str, Any], j: _Journal) -> None:
    kind = op.get("op")
    if kind == "create":
        parent = j.inside(_select_one(root, str(op.get("parent", ""))), parent_ok=True)
        el = _fragment(str(op.get("xml", "")))
        dup = _all_ids(root) & _all_ids(el)
        if dup:
            first = sorted(dup)[0]
            raise _err("CIB_ID_EXISTS", f"'{first}' already exists", id=first)
        j.append(parent, el)
    elif kind == "modify":
        el = _fragment(str(op.get("xml", "")))
        el_id = el.get("id")
        if el.tag == "cib":
            if j.status is not None:
                raise _OutsideStatus
            _merge_cib_attrs(root, el)
            return
        if not el_id:
            raise _err("CIB_MODIFY_NO_ID", f"<{el.tag}> to modify has no id")
        found = _find_by_id(root, el.tag, el_id)
        if not found:
            if op.get("parent"):
                parent = j.inside(_select_one(root, str(op["parent"])), parent_ok=True)
                j.append(parent, el)
                return
            raise _err("CIB_NOT_FOUND", f'<{el.tag} id="{el_id}"> does not exist', id=el_id)
        j.merge(j.inside(found[0]), el)
    elif kind == "delete":
        xpath = str(op.get("xpath", ""))
        found = _select(root, xpath)
        if not found and not op.get("missing_ok"):
            raise _err("CIB_NOT_FOUND", f"nothing matches '{xpath}'", xpath=xpath)
        for el in found:
            if el is root or el.getparent() is root:
                raise _err(
                    "CIB_DELETE_SECTION", f"'{xpath}' selects a top-level element", xpath=xpath
                )
            j.inside(el)
        for el in found:
            j.remove(el)
    elif kind == "replace":
        xpath = str(op.get("xpath", ""))
        target = _select_one(root, xpath)
        el = _fragment(str(op.get("xml", "")))
        if target is root:
            raise _err("CIB_REPLACE_ROOT", "replacing the whole CIB is a push, not a replace op")
        if el.tag != target.tag:
            raise _err(
                "CIB_REPLACE_TAG",
                f"'{xpath}' selects <{target.tag}>, cannot replace it with <{el.tag}>",
                xpath=xpath,
            )
        j.replace(j.inside(target), el)
    else:
        raise _err("CIB_BAD_OP", f"unknown CIB operation '{kind}'", op=str(kind))


def _merge_cib_attrs(root: etree._Element, el: etree._Element) -> None:
    """Only admin-settable root attributes may change through modify (never the versions)."""
    for name, value in el.attrib.items():
        if name in ("epoch", "num_updates"):
            continue
        if name == "admin_epoch":
            if int(value) > _int_attr(root, "admin_epoch"):
                root.set(name, value)
            continue
        root.set(name, value)


def check(root: etree._Element) -> list[Report]:
    """Validation shared with the scheduler's model, plus the replication invariants."""
    external = _external_validation(root)
    if external is not None:
        return external
    reports: list[Report] = []
    seen: dict[str, str] = {}
    conf = root.find("configuration")
    if conf is None:
        reports.append(Report("CIB_NO_CONFIGURATION", "the CIB has no <configuration> section"))
        return reports
    for el in conf.iter():
        if not isinstance(el.tag, str):
            continue
        el_id = el.get("id")
        if el_id is None:
            continue
        if el_id in seen:
            reports.append(
                Report(
                    "CIB_DUPLICATE_ID",
                    f"id '{el_id}' is used by both <{seen[el_id]}> and <{el.tag}>",
                    {"id": el_id},
                )
            )
        else:
            seen[el_id] = el.tag
    return reports


def _external_validation(root: etree._Element) -> list[Report] | None:
    """tandem.cib.validate (the CIB-tools layer) when present: same rules as the scheduler.

    None when that layer is not available (then :func:`check` does the basic checks).
    """
    try:
        from tandem.cib import validate as cib_validate
    except ImportError:
        return None
    fn = getattr(cib_validate, "validate", None)
    if fn is None:
        return None
    try:
        result = fn(root)
    except CibError as exc:
        return [r for r in exc.reports if r.is_error]
    if result is None:
        return []
    return [r for r in result if isinstance(r, Report) and r.is_error]


def apply_ops(
    root: etree._Element, ops: list[dict[str, Any]], *, origin: str, ts: float
) -> etree._Element:
    """Apply ``ops`` atomically to a copy of ``root`` and return it (CibError, root untouched)."""
    if not ops:
        raise _err("CIB_NO_OPS", "no change requested")
    new = etree.fromstring(etree.tostring(root))
    before = config_text(new)
    status_before = etree.tostring(new.find("status"))
    journal = _Journal()  # unscoped, never replayed: the copy is dropped on error
    for op in ops:
        if not isinstance(op, dict):
            raise _err("CIB_BAD_OP", "a CIB operation must be a JSON object")
        _apply_one(new, op, journal)
    problems = check(new)
    if problems:
        raise CibError(*problems)
    a, e, n = version_of(root)
    admin = max(a, _int_attr(new, "admin_epoch"))
    if config_text(new) != before or admin != a:
        set_version(new, (admin, e + 1, 0))
        _stamp(new, origin, ts)
    elif etree.tostring(new.find("status")) != status_before:
        set_version(new, (a, e, n + 1))
    else:
        set_version(new, (a, e, n))
    return new


def _status_in_place(root: etree._Element, ops: list[dict[str, Any]], keep: bool) -> bool | None:
    """Apply ``ops`` to ``root`` in place if all of them stay inside <status>.

    Returns None (root untouched) when a step reaches outside <status>; True/False
    whether anything changed.  Errors are raised with root untouched.  With
    ``keep=False`` the batch is only checked and always rolled back.
    """
    status = root.find("status")
    if status is None or not ops:
        return None
    j = _Journal(status)
    try:
        for op in ops:
            if not isinstance(op, dict):
                raise _err("CIB_BAD_OP", "a CIB operation must be a JSON object")
            _apply_one(root, op, j)
    except _OutsideStatus:
        j.rollback()
        return None
    except BaseException:
        j.rollback()
        raise
    changed = bool(j.undo)
    if not keep:
        j.rollback()
    return changed


def check_ops(root: etree._Element, ops: list[dict[str, Any]]) -> None:
    """Raise the CibError that applying ``ops`` would raise; ``root`` is left as it was."""
    if _status_in_place(root, ops, keep=False) is None:
        apply_ops(root, ops, origin="", ts=0.0)


def apply_ops_live(
    root: etree._Element, ops: list[dict[str, Any]], *, origin: str, ts: float
) -> tuple[etree._Element, bool]:
    """Apply ``ops`` like :func:`apply_ops`; return ``(cib, config_changed)``.

    Status-only batches change ``root`` itself (and return it); others return a
    changed copy as :func:`apply_ops` does.  Either way a CibError leaves ``root``
    as it was, and the versions move exactly as :func:`apply_ops` moves them.
    """
    changed = _status_in_place(root, ops, keep=True)
    if changed is None:
        new = apply_ops(root, ops, origin=origin, ts=ts)
        return new, config_text(new) != config_text(root)
    if changed:
        a, e, n = version_of(root)
        set_version(root, (a, e, n + 1))
    return root, False


def push(root: etree._Element, pushed: etree._Element, *, origin: str, ts: float) -> etree._Element:
    """``cib push``: the pushed configuration replaces ours; epoch = highest seen + 1.

    The status section is ours (it describes the live cluster), never the file's.
    """
    new = etree.fromstring(etree.tostring(pushed))
    status = new.find("status")
    if status is not None:
        new.remove(status)
    ours = root.find("status")
    new.append(
        etree.fromstring(etree.tostring(ours)) if ours is not None else etree.Element("status")
    )
    for attr in ("have-quorum", "dc-uuid"):
        if root.get(attr) is not None:
            new.set(attr, root.get(attr))
        else:
            new.attrib.pop(attr, None)
    problems = check(new)
    if problems:
        raise CibError(*problems)
    a, e, _ = version_of(root)
    pa, pe, _ = version_of(pushed)
    set_version(new, (max(a, pa), max(e, pe) + 1, 0))
    _stamp(new, origin, ts)
    return new
