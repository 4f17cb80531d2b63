"""The blocking facade as a notebook uses it: a script run top to bottom in a fresh
interpreter, cell by cell, with no event loop of its own and no ``with`` block."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from sovfixer_async.emulator import RunningEmulator

TOKEN = "sync-test-token"  # the emulator fixture's (tests/sync/conftest.py)

SCRIPT = textwrap.dedent(
    """
    # cell 1
    import json, os
    from sovfixer_async.sync import Client
    client = Client(api_url=os.environ["EMU"], data_api_url=os.environ["EMU"])

    # cell 2
    formats = [f.output_format for f in client.list_output_formats()]

    # cell 3
    job = client.update_sov("s-no-ping-hggcsk", "fix.csv", output_formats=["json"])
    job.wait()
    paths = job.download("out")

    # cell 4: a run, its results as a plain loop
    run = client.bulk_enhance("locations.csv", sources=["PG"], batch_size=4)
    ids = [location_id for location_id, results in run.results()]

    # cell 5: the handle survives as a token
    token = job.token
    state = client.resume(token).refresh().state
    print(json.dumps({"formats": formats, "paths": [str(p) for p in paths],
                      "ids": ids, "state": state}))
    # the notebook is closed without client.close(): the interpreter must still exit
    """
)


def test_notebook_style_script(emulator: RunningEmulator, tmp_path: Path) -> None:
    (tmp_path / "nb.py").write_text(SCRIPT)
    (tmp_path / "fix.csv").write_text("sheet_name,sheet_row_number,bldg_name\nSheet1,2,A\n")
    rows = [f'loc-{i},"{i} Main St, Miami, FL"' for i in range(10)]
    (tmp_path / "locations.csv").write_text("id,address\n" + "\n".join(rows) + "\n")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SOVFIXER_AUTH_TOKEN", "PING_DATA_AUTH_TOKEN"))
    }
    env.update(EMU=emulator.url, SOVFIXER_AUTH_TOKEN=TOKEN, HOME=str(tmp_path))
    done = subprocess.run(
        [sys.executable, "nb.py"], cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert "Unclosed" not in done.stderr, done.stderr
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert "JSON" in [f.upper() for f in answer["formats"]]
    assert len(answer["paths"]) == 1
    assert (tmp_path / answer["paths"][0]).is_file()
    assert answer["ids"] == [f"loc-{i}" for i in range(10)]
    assert answer["state"] == "COMPLETE"
