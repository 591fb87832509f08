"""The library environment: where the CIB comes from and where reports go.

Why (pcs's design): every library command takes a :class:`LibraryEnvironment`
instead of doing I/O itself, so the same command works on a CIB file
(``tandem -f FILE``), on the live cluster through the local daemon, and in
unit tests on an in-memory CIB.  Commands report through
:attr:`LibraryEnvironment.report_processor`; the CLI prints what it collected
and the HTTPS API serialises it.
"""

from __future__ import annotations

import copy
from typing import Any, Protocol

from lxml import etree

from tandem.agents.metadata import MetadataSource, default_source
from tandem.errors import Report, ReportList, Severity, TandemError


class CibBackend(Protocol):
    """Loads and stores a whole CIB."""

    #: True when the CIB is the running cluster's (moves can be waited for, etc.).
    is_live: bool

    def load(self) -> etree._Element: ...

    def push(self, root: etree._Element) -> None: ...


class FileBackend:
    """A CIB file (``-f FILE``), written atomically, epoch bumped like cibadmin does."""

    is_live = False

    def __init__(self, path: str) -> None:
        self.path = path

    def load(self) -> etree._Element:
        from tandem.cib import xmlio

        return xmlio.parse_file(self.path)

    def push(self, root: etree._Element) -> None:
        from tandem.cib import xmlio

        xmlio.write_file_atomic(root, self.path)


class LiveBackend:
    """The running cluster, through tandemd's local client (imported lazily).

    A push sends only the configuration sections that changed, each as one
    ``replace`` (or ``create``) operation in a single atomic ``apply`` batch:
    the status section, which the cluster keeps changing, is never sent back,
    and edits of other sections made meanwhile by someone else are kept.
    """

    is_live = True

    def __init__(self, client: Any = None) -> None:
        self._client = client
        self._loaded: dict[str, bytes] = {}

    @property
    def client(self) -> Any:
        if self._client is None:
            from tandem.daemon import client

            self._client = client
        return self._client

    @staticmethod
    def _sections(root: etree._Element) -> dict[str, bytes]:
        conf = root.find("configuration")
        if conf is None:
            return {}
        return {
            child.tag: etree.tostring(child, method="c14n")
            for child in conf
            if isinstance(child.tag, str)
        }

    def load(self) -> etree._Element:
        from tandem.cib import xmlio

        root = xmlio.parse_string(self.client.get_cib_xml(), source="live CIB")
        self._loaded = self._sections(root)
        return root

    def change_ops(self, root: etree._Element) -> list[dict[str, Any]]:
        """The ``apply`` operations turning the loaded configuration into ``root``'s."""
        ops: list[dict[str, Any]] = []
        now = self._sections(root)
        conf = root.find("configuration")
        for tag, data in now.items():
            if self._loaded.get(tag) == data:
                continue
            el = conf.find(tag) if conf is not None else None
            xml = etree.tostring(el, encoding="unicode") if el is not None else ""
            if tag in self._loaded:
                ops.append({"op": "replace", "xpath": f"/cib/configuration/{tag}", "xml": xml})
            else:
                ops.append({"op": "create", "parent": "/cib/configuration", "xml": xml})
        for tag in self._loaded:
            if tag not in now:
                ops.append({"op": "delete", "xpath": f"/cib/configuration/{tag}"})
        return ops

    def push(self, root: etree._Element) -> None:
        ops = self.change_ops(root)
        if ops:
            self.client.apply(ops)
        self._loaded = self._sections(root)


class MemoryBackend:
    """An in-memory CIB (tests, and callers that hold a CIB already)."""

    def __init__(self, xml: str | etree._Element, *, is_live: bool = False) -> None:
        from tandem.cib import xmlio

        self.root = xml if isinstance(xml, etree._Element) else xmlio.parse_string(xml)
        self.is_live = is_live
        self.pushes = 0

    def load(self) -> etree._Element:
        return copy.deepcopy(self.root)

    def push(self, root: etree._Element) -> None:
        self.root = copy.deepcopy(root)
        self.pushes += 1


class ReportProcessor:
    """Collects reports; turns forceable errors into warnings under ``--force``."""

    def __init__(self, force: bool = False) -> None:
        self.force = force
        self.reports = ReportList()

    def report(self, report: Report) -> None:
        if self.force and report.is_error and report.force_code:
            report = Report(
                report.code, report.message, report.payload, Severity.WARNING, report.force_code
            )
        self.reports.add(report)

    def report_list(self, reports: list[Report] | ReportList) -> None:
        for r in reports:
            self.report(r)

    @property
    def has_errors(self) -> bool:
        return self.reports.has_errors

    def raise_if_errors(self) -> None:
        """Raise one TandemError carrying *every* report so far (warnings included)."""
        if self.has_errors:
            raise TandemError(*list(self.reports))


class LibraryEnvironment:
    """What a library command may use: the CIB, agent meta-data, reports."""

    def __init__(
        self,
        backend: CibBackend,
        *,
        force: bool = False,
        metadata: MetadataSource | None = None,
        report_processor: ReportProcessor | None = None,
    ) -> None:
        self.backend = backend
        self.force = force
        self._metadata = metadata
        self.report_processor = report_processor or ReportProcessor(force)
        self._cib: etree._Element | None = None

    @classmethod
    def from_cli(cls, cib_file: str | None, force: bool = False) -> LibraryEnvironment:
        backend: CibBackend = FileBackend(cib_file) if cib_file else LiveBackend()
        return cls(backend, force=force)

    @property
    def is_cib_live(self) -> bool:
        return bool(self.backend.is_live)

    @property
    def metadata(self) -> MetadataSource:
        if self._metadata is None:
            self._metadata = default_source()
        return self._metadata

    def get_cib(self) -> etree._Element:
        """The CIB to read or edit (loaded once per command)."""
        if self._cib is None:
            self._cib = self.backend.load()
        return self._cib

    def reload_cib(self) -> etree._Element:
        self._cib = None
        return self.get_cib()

    def push_cib(self, root: etree._Element | None = None) -> None:
        """Store the edited CIB; bumps ``epoch`` as any configuration change does."""
        root = root if root is not None else self.get_cib()
        try:
            epoch = int(root.get("epoch", "0"))
        except ValueError:
            epoch = 0
        root.set("epoch", str(epoch + 1))
        root.set("num_updates", "0")
        self.backend.push(root)
        self._cib = root

    # Convenience for commands: report then stop when anything is an error.
    def report(self, *reports: Report) -> None:
        for r in reports:
            self.report_processor.report(r)

    def raise_if_errors(self) -> None:
        self.report_processor.raise_if_errors()
