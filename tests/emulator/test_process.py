"""``python -m sovfixer_async.emulator``: prints its URL, serves, exits 0 on SIGINT/SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import urllib.request

import pytest

from sovfixer_async.emulator import build_parser, settings_from_args


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_module_prints_url_serves_and_stops(sig: signal.Signals) -> None:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "sovfixer_async.emulator", "--port", "0", "--token", "t0k"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        assert not url.endswith(":0")
        request = urllib.request.Request(
            url + "/api/v1/output_formats", headers={"Authorization": "Token t0k"}
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.status == 200
        proc.send_signal(sig)
        assert proc.wait(timeout=10) == 0
        assert proc.stdout.read() == ""  # exactly one line on stdout
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_every_setting_has_a_flag() -> None:
    args = build_parser().parse_args(
        [
            "--host", "0.0.0.0", "--port", "9999", "--token", "abc", "--job-seconds", "0.5",
            "--output-bytes", "1000", "--fault-rate", "0.1", "--reset-rate", "0.2",
            "--truncate-rate", "0.3", "--ambiguous-rate", "0.4", "--latency-ms", "5",
            "--seed", "7", "--max-locations", "100", "--max-body-bytes", "2048",
            "--problem-rate", "0.5", "--no-range", "--allowed-formats", "json,auditor",
            "--callback-retry-seconds", "0.25",
        ]
    )  # fmt: skip
    settings = settings_from_args(args)
    assert settings.allowed_formats == ("JSON", "AUDITOR")
    assert (settings.host, settings.port, settings.token) == ("0.0.0.0", 9999, "abc")
    assert settings.no_range
    assert settings.seed == 7
    assert settings.max_body_bytes == 2048
    assert settings.callback_retry_seconds == 0.25
    assert settings.problem_rate == 0.5
    defaults = settings_from_args(build_parser().parse_args([]))
    assert (defaults.host, defaults.port, defaults.job_seconds) == ("127.0.0.1", 8765, 2.0)
    assert defaults.max_locations == 10_000
    assert defaults.max_body_bytes == 50 * 1024 * 1024


def test_bad_flag_values_exit_2() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "sovfixer_async.emulator", "--fault-rate", "2"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 2
    assert "fault_rate" in proc.stderr


def test_emulator_imports_nothing_from_the_client_side() -> None:
    """The emulator is written from the contract: stdlib, aiohttp, attrs and itself only."""
    import ast
    from pathlib import Path

    import sovfixer_async.emulator as package

    allowed_roots = {"aiohttp", "attrs"}
    for path in Path(package.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                root = name.split(".")[0]
                if root == "sovfixer_async":
                    assert name.startswith("sovfixer_async.emulator"), (path.name, name)
                else:
                    assert root in allowed_roots or root in sys.stdlib_module_names, (
                        path.name,
                        name,
                    )
