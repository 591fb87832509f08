"""Property-based fuzz of the JSON endpoints: never a 5xx, always a JSON report, keeps serving."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from conftest import PASSWORD, ApiHarness
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tandem.api.server import BODIES, ROUTES


class Live:
    def __init__(self, harness: ApiHarness) -> None:
        self.harness = harness
        self.loop = asyncio.new_event_loop()

        async def start() -> TestClient:
            c = TestClient(TestServer(harness.api.make_app()))
            await c.start_server()
            return c

        self.client = self.loop.run_until_complete(start())
        self.token = self.login()

    def request(self, method: str, path: str, **kw: Any) -> tuple[int, bytes]:
        async def go() -> tuple[int, bytes]:
            resp = await self.client.request(method, path, **kw)
            return resp.status, await resp.read()

        return self.loop.run_until_complete(go())

    def login(self) -> str:
        status, body = self.request(
            "POST", "/api/v1/auth", json={"username": "hacluster", "password": PASSWORD}
        )
        assert status == 200
        return json.loads(body)["token"]

    def close(self) -> None:
        self.loop.run_until_complete(self.client.close())
        self.loop.close()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    from tandem.api.server import LoginThrottle

    # no lock-out: the fuzz sends many wrong passwords, the final login must still work
    throttle = LoginThrottle(max_failures=10**9)
    lv = Live(ApiHarness(tmp_path_factory.mktemp("fuzz"), throttle, max_request_size=4096))
    yield lv
    lv.close()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
known_fields = sorted({f.name for b in BODIES.values() for f in b.fields})
field_names = st.sampled_from(known_fields) | st.text(max_size=15)
bodies = st.dictionaries(field_names, json_values, max_size=6)
paths = st.sampled_from(sorted({p for _m, p, *_ in ROUTES})) | st.text(
    alphabet="abcdefgh/._-%", max_size=30
).map(lambda s: "/api/v1/" + s)


def check(status: int, raw: bytes) -> None:
    assert status < 500, raw[:300]
    if status >= 400:
        data = json.loads(raw)
        assert data["reports"] and all(r["message"] for r in data["reports"])
        assert b"Traceback" not in raw


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(method=st.sampled_from(["GET", "POST", "PUT", "DELETE"]), path=paths, body=bodies,
       with_token=st.booleans())
def test_fuzz_json_bodies(live: Live, method: str, path: str, body: dict, with_token: bool) -> None:
    if path.endswith("/deauth"):
        with_token = False  # keep our token for the other examples
    headers = {"Authorization": f"Bearer {live.token}"} if with_token else {}
    check(*live.request(method, path, json=body, headers=headers))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from([p for m, p, *_ in ROUTES if m == "post"]), raw=st.binary(max_size=5000))
def test_fuzz_raw_bytes(live: Live, path: str, raw: bytes) -> None:
    if path.endswith("/deauth"):
        return
    headers = {"Authorization": f"Bearer {live.token}", "Content-Type": "application/json"}
    check(*live.request("POST", path, data=raw, headers=headers))


def test_still_serving_after_the_fuzz(live: Live) -> None:
    assert live.login()
    assert live.harness.runner.calls == [] or all(
        argv[-2] == "cluster" for argv, _t in live.harness.runner.calls
    )
