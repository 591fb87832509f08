"""Fakes for the management daemon's tests: authenticator, runner, transport, virtual clock.

The virtual-time event loop lets tests prove time bounds (PCSD Status within
2 s) without sleeping: when nothing is ready, the loop jumps its clock to the
next timer instead of waiting.
"""

from __future__ import annotations

import asyncio
import selectors
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from tandem.api.paths import ApiPaths
from tandem.api.runner import CommandResult
from tandem.api.server import ApiApp, ApiConfig
from tandem.api.storage import TokenStore

PASSWORD = "correct horse battery staple"


class FakeAuthenticator:
    def __init__(self, users: dict[str, str] | None = None) -> None:
        self.users = users if users is not None else {"hacluster": PASSWORD}
        self.calls: list[str] = []

    def authenticate(self, username: str, password: str) -> bool:
        self.calls.append(username)
        return self.users.get(username) == password


class FakeRunner:
    def __init__(self, result: CommandResult | None = None) -> None:
        self.result = result or CommandResult(0, "Starting Cluster...\n", "")
        self.calls: list[tuple[list[str], float]] = []

    async def run(self, argv: list[str], timeout: float) -> CommandResult:
        self.calls.append((argv, timeout))
        return self.result


class ApiHarness:
    """An ApiApp with fakes in a temporary root, and helpers to call it."""

    def __init__(self, root: Path, throttle: Any = None, **config: Any) -> None:
        self.paths = ApiPaths.under(root)
        self.auth = FakeAuthenticator()
        self.runner = FakeRunner()
        self.tokens = TokenStore(self.paths.tokens)
        self.cib_xml: str | None = None
        self.config = ApiConfig(
            paths=self.paths, node_name="pcmk-1", tandem_command=["/fake/tandem"], **config
        )
        self.api = ApiApp(
            self.config, self.auth, self.tokens, self.runner, cib_source=lambda: self.cib_xml,
            throttle=throttle,
        )

    def run(self, fn: Callable[[TestClient], Any]) -> Any:
        async def go() -> Any:
            async with TestClient(TestServer(self.api.make_app())) as client:
                return await fn(client)

        return asyncio.run(go())


@pytest.fixture
def harness(tmp_path: Path) -> ApiHarness:
    return ApiHarness(tmp_path)


class _VirtualSelector(selectors.BaseSelector):
    """Wraps a real selector; a blocking select() advances the loop's virtual clock instead."""

    def __init__(self) -> None:
        self._real = selectors.DefaultSelector()
        self.loop: VirtualTimeLoop | None = None

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._real.register(fileobj, events, data)

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        return self._real.unregister(fileobj)

    def modify(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._real.modify(fileobj, events, data)

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        ready = self._real.select(0)
        if ready or timeout is None or timeout <= 0:
            if not ready and timeout is None:
                raise RuntimeError("virtual loop would block forever (nothing scheduled)")
            return ready
        assert self.loop is not None
        self.loop.vtime += timeout
        return []

    def close(self) -> None:
        self._real.close()

    def get_map(self) -> Any:
        return self._real.get_map()


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    def __init__(self) -> None:
        sel = _VirtualSelector()
        super().__init__(sel)
        sel.loop = self
        self.vtime = 1000.0

    def time(self) -> float:
        return self.vtime


@pytest.fixture
def vloop() -> Iterator[VirtualTimeLoop]:
    loop = VirtualTimeLoop()
    try:
        yield loop
    finally:
        loop.close()


class FakeTransport:
    """Answers per address: a (status, body) tuple, an exception, or 'hang'."""

    def __init__(self, answers: dict[str, Any], certs: dict[str, str] | None = None) -> None:
        self.answers = answers
        self.certs = certs or {}  # addr -> certificate fingerprint (default: "fp-ADDR")
        self.requests: list[tuple[str, str, str, str | None, Any, float]] = []
        self.pins: list[str | None] = []
        self.closed = False

    async def fingerprint(self, addr: str, port: int, timeout: float) -> str | None:
        answer = self.answers.get(addr, "hang")
        if isinstance(answer, BaseException):
            raise answer
        return self.certs.get(addr, f"fp-{addr}")

    async def request(
        self, method: str, addr: str, port: int, path: str, *, token: str | None,
        body: Any, timeout: float, pin: str | None = None,
    ) -> tuple[int, Any]:
        self.requests.append((method, addr, path, token, body, timeout))
        self.pins.append(pin)
        if pin is not None and pin != self.certs.get(addr, f"fp-{addr}"):
            from tandem.api.client import CertificateMismatch

            raise CertificateMismatch("its certificate changed")
        answer = self.answers.get(addr, "hang")
        if callable(answer):
            answer = answer(method, path, token, body)
        if answer == "hang":
            await asyncio.sleep(3600)  # a crashed node: no answer at all (virtual time)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    async def close(self) -> None:
        self.closed = True
