"""A job's outputs reach disk each under its own safe name: two outputs called alike are
both kept (``name (2).ext`` by output order), and hostile names stay inside ``dest``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from sovfixer_async import Client, LocalFileError, PollPolicy, RetryPolicy

from .conftest import serve

pytestmark = pytest.mark.anyio

TOKEN = json.dumps({"v": 2, "kind": "parse", "id": "s-1", "api": "extraction"})
#: (filename the server gives, bytes served, name expected on disk), in output order.
OUTPUTS = [
    ("report.json", b"first", "report.json"),
    ("report.json", b"second", "report (2).json"),
    ("REPORT.json", b"third", "REPORT (3).json"),
    ("../../report.json", b"fourth", "report (4).json"),
    ("C:\\temp\\x.xlsx", b"fifth", "x.xlsx"),
    (None, b"sixth", "f5"),
]


def parse_job_server(base: list[str]) -> Any:
    async def handle(request: web.Request) -> web.StreamResponse:
        if request.path == "/api/v1/sov/s-1":
            outputs: list[dict[str, Any]] = [
                {"url": f"{base[0]}/files/f{i}", "filename": name, "description": "x"}
                for i, (name, _, _) in enumerate(OUTPUTS)
            ]
            return web.json_response(
                {
                    "request": {"status": "COMPLETE", "pct_complete": 100},
                    "result": {"status": "SUCCESS", "outputs": outputs},
                }
            )
        index = int(request.path.rpartition("/f")[2])
        return web.Response(body=OUTPUTS[index][1])

    return handle


async def test_outputs_with_the_same_name_are_all_kept(tmp_path: Path) -> None:
    base: list[str] = []
    async with serve(parse_job_server(base)) as url:
        base.append(url)
        options: dict[str, Any] = {"retry": RetryPolicy.no_wait(), "poll": PollPolicy.fast()}
        async with Client(api_url=url, data_api_url=url, token="t", **options) as client:
            handle = client.resume(TOKEN)
            paths = await handle.download(tmp_path / "out")
            again = await handle.download(tmp_path / "out", overwrite=True)
            with pytest.raises(LocalFileError):
                await handle.download(tmp_path / "out" / "report.json")
    dest = tmp_path / "out"
    assert paths == again == [dest / expected for _, _, expected in OUTPUTS]
    assert [p.read_bytes() for p in paths] == [data for _, data, _ in OUTPUTS]
    assert sorted(p.name for p in dest.iterdir()) == sorted(e for _, _, e in OUTPUTS)
    assert [f.path for f in handle.files] == paths
