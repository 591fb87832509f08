"""Reading and writing CIB XML (lxml), with errors that name the file and line.

Why a module of its own: every layer (scheduler, verify, the pcs-style
commands, the daemon's CIB store) reads and writes the same XML, and they
must all fail the same way on bad input -- one :class:`~tandem.errors.CibError`
whose message names the file, the element and the line -- and keep what they
do not understand.  The writer never drops unknown elements or attributes:
parse then write gives equivalent XML (same tree, same attributes; only
ignorable whitespace between elements is normalised so that output is
consistently indented).

Writing to disk is atomic (temporary file in the same folder, fsync, rename,
fsync of the folder) so that a crash never leaves a truncated CIB behind.
"""

from __future__ import annotations

import os
from pathlib import Path

from lxml import etree

from tandem.errors import CibError, Report
from tandem.util.files import fsync_dir, replace_atomic

ROOT_TAG = "cib"

# No network, no entity expansion: a CIB is data, never a document that fetches things.
_PARSER_OPTIONS = {
    "remove_blank_text": True,
    "resolve_entities": False,
    "no_network": True,
    "huge_tree": True,
}


def _parser() -> etree.XMLParser:
    # A fresh parser per call: lxml parsers keep an error log and are not thread-safe.
    return etree.XMLParser(**_PARSER_OPTIONS)


def _syntax_error(source: str, exc: etree.XMLSyntaxError) -> CibError:
    line = exc.lineno if exc.lineno else (exc.position[0] if exc.position else 0)
    # lxml's message ends with "(<string>, line N)" or similar: keep only the reason.
    reason = str(exc.msg or exc).split(", line ")[0].strip()
    return CibError(
        Report(
            "CIB_XML_MALFORMED",
            f"{source}: line {line}: malformed XML: {reason}",
            {"file": source, "line": line, "reason": reason},
        )
    )


def _check_root(root: etree._Element, source: str) -> etree._Element:
    tag = root.tag if isinstance(root.tag, str) else str(root.tag)
    if tag != ROOT_TAG:
        raise CibError(
            Report(
                "CIB_NOT_A_CIB",
                f"{source}: line {root.sourceline or 1}: root element is <{tag}>, "
                f"expected <{ROOT_TAG}>: this is not a CIB",
                {"file": source, "element": tag, "line": root.sourceline or 1},
            )
        )
    return root


def parse_string(text: str | bytes, source: str = "<string>") -> etree._Element:
    """Parse CIB XML from a string; raise CibError on bad XML or a non-``<cib>`` root.

    ``source`` names the input in error messages (a file name, "stdin"...).
    """
    data = text.encode("utf-8") if isinstance(text, str) else text
    if not data.strip():
        raise CibError(
            Report(
                "CIB_XML_MALFORMED",
                f"{source}: line 1: malformed XML: document is empty",
                {"file": source, "line": 1, "reason": "document is empty"},
            )
        )
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        raise _syntax_error(source, exc) from None
    return _check_root(root, source)


def parse_file(path: str | os.PathLike[str]) -> etree._Element:
    """Parse a CIB file; a missing or unreadable file is a CibError naming it."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise CibError(Report("CIB_FILE_MISSING", f"{p}: no such file", {"file": str(p)})) from None
    except OSError as exc:
        raise CibError(
            Report(
                "CIB_FILE_UNREADABLE",
                f"{p}: cannot read: {exc.strerror or exc}",
                {"file": str(p)},
            )
        ) from None
    return parse_string(data, source=str(p))


def write_string(root: etree._Element, *, pretty: bool = True) -> str:
    """Serialise a CIB (or any element) to a string, unknown content kept."""
    return etree.tostring(root, encoding="unicode", pretty_print=pretty)


def write_file_atomic(root: etree._Element, path: str | os.PathLike[str]) -> Path:
    """Write the CIB to ``path`` atomically: temp file, fsync, rename, fsync folder."""
    p = Path(path)
    data = write_string(root).encode("utf-8")
    # A new file is private (0600, as Pacemaker keeps its CIB); a replaced one keeps its mode.
    try:
        mode: int | None = p.stat().st_mode & 0o7777
    except FileNotFoundError:
        mode = None
    replace_atomic(p, data, mode=mode)
    fsync_dir(p.parent)
    return p


def element_label(el: etree._Element) -> str:
    """``<primitive id="X">`` style label used in messages."""
    tag = el.tag if isinstance(el.tag, str) else "comment"
    el_id = el.get("id")
    return f'<{tag} id="{el_id}">' if el_id is not None else f"<{tag}>"
