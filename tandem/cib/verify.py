"""crm_verify-style checks of a whole CIB (``tandem verify``, ``tandem cluster verify``).

Why separate from :mod:`tandem.cib.validate`: validation is about the XML
being consistent (ids, references, scores); verification adds the checks
Pacemaker's ``crm_verify`` makes about whether the cluster *can run* with
this configuration -- above all, that fencing is either configured or
explicitly disabled -- and renders everything in crm_verify's 3.x text form
so that administrators and scripts see what they know:

    (unpack_resources) \terror: Resource start-up disabled since no STONITH resources have been defined
    ...
    Errors found during check: config not valid

Exit codes are Pacemaker's: 0 when valid, 78 (CRM_EX_CONFIG) when not.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree

from tandem.cib import options
from tandem.cib.rules import parse_interval_ms
from tandem.cib.validate import validate
from tandem.errors import Report, Severity

EXIT_OK = 0
EXIT_CONFIG = 78  # CRM_EX_CONFIG: "config not valid"

ERRORS_FOUND = "Errors found during check: config not valid"
MORE_DETAILS = "-V may provide more details"


def stonith_lines(option: str) -> list[str]:
    """The three lines Pacemaker logs when fencing is on but no device exists."""
    return [
        "(unpack_resources) \terror: Resource start-up disabled since no STONITH resources "
        "have been defined",
        "(unpack_resources) \terror: Either configure some or disable STONITH with the "
        f"{option} option",
        "(unpack_resources) \terror: NOTE: Clusters with shared data need STONITH to ensure "
        "data integrity",
    ]


def cluster_properties(root: etree._Element) -> dict[str, str]:
    """crm_config name -> value; the first set that defines a name wins (as Pacemaker)."""
    props: dict[str, str] = {}
    for pset in root.iterfind("configuration/crm_config/cluster_property_set"):
        for nv in pset.iterfind("nvpair"):
            name, value = nv.get("name"), nv.get("value")
            if name and value is not None and name not in props:
                props[name] = value
    return props


def has_fencing_device(root: etree._Element) -> bool:
    return any(
        p.get("class") == "stonith" for p in root.iterfind("configuration/resources//primitive")
    )


def duplicate_op_lines(root: etree._Element) -> list[str]:
    """Recurring operations repeating a name and interval within a resource (is_op_dup).

    Intervals are compared in milliseconds, so ``40s`` and ``P40S`` are the same.
    Like Pacemaker, only recurring operations count: two ``start`` definitions
    (e.g. one per role) are not reported.
    """
    lines = []
    for prim in root.iterfind("configuration/resources//primitive"):
        seen: dict[tuple[str, int], str] = {}
        for op in prim.iterfind("operations/op"):
            name, op_id = op.get("name"), op.get("id")
            if not name or not op_id:
                continue
            key = (name, parse_interval_ms(op.get("interval"), 0))
            if key[1] <= 0:
                continue
            first = seen.setdefault(key, op_id)
            if first != op_id:
                lines.append(
                    f"(is_op_dup) \terror: Operation {op_id} is duplicate of {first} (do not use "
                    "same name and interval combination more than once per resource)"
                )
    return lines


@dataclass
class VerifyResult:
    """What verification found, before rendering."""

    reports: list[Report] = field(default_factory=list)
    #: the option name to cite when fencing is on without a device, else None
    missing_fencing_option: str | None = None
    #: Pacemaker-style error lines found while unpacking (duplicate operations...)
    unpack_errors: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[Report]:
        return [r for r in self.reports if r.is_error]

    @property
    def warnings(self) -> list[Report]:
        return [r for r in self.reports if r.severity is Severity.WARNING]

    @property
    def valid(self) -> bool:
        return not self.errors and not self.unpack_errors and self.missing_fencing_option is None


def check(root: etree._Element) -> VerifyResult:
    """Run every check on a parsed CIB (pure: no I/O)."""
    result = VerifyResult(reports=list(validate(root)))
    if root.tag != "cib" or root.find("configuration") is None:
        return result
    props = cluster_properties(root)
    if options.ClusterOptions(props).fencing_enabled and not has_fencing_device(root):
        result.missing_fencing_option = options.fencing_option_name(props)
    result.unpack_errors = duplicate_op_lines(root)
    return result


def render(result: VerifyResult, verbose: int | bool = 0) -> tuple[list[str], int]:
    """crm_verify's text: problem lines, then the verdict.

    Validation errors are always shown (as crm_verify shows schema errors);
    the lines Pacemaker logs while unpacking (fencing, duplicate operations)
    and tandem's own warnings only with -V.  A warning alone (a location on
    a node the CIB does not list, which Pacemaker accepts silently) leaves
    the configuration valid.
    """
    level = int(verbose)
    lines = [f"(validate_cib) \terror: {r.message}" for r in result.errors]
    if level:
        lines += [f"(validate_cib) \twarning: {r.message}" for r in result.warnings]
        if result.missing_fencing_option:
            lines += stonith_lines(result.missing_fencing_option)
        lines += result.unpack_errors
    if not result.valid:
        lines.append(ERRORS_FOUND)
        if not level:
            lines.append(MORE_DETAILS)
        return lines, EXIT_CONFIG
    return lines, EXIT_OK


def run_verify(xml_root: etree._Element, verbose: int | bool = 0) -> tuple[list[str], int]:
    """Verify a parsed CIB; return (lines to print on stderr, exit code 0 or 78).

    Used by ``tandem verify`` and by pcs-style ``tandem cluster verify [--full]``
    (``--full`` meaning verbose).
    """
    return render(check(xml_root), verbose)
