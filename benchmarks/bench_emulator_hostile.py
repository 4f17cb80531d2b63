"""The emulator under hostile uploads: its event loop stays responsive, its memory bounded.

An emulator process (``--max-body-bytes`` at its default, 50 MiB) receives, one after the
other: workbook bombs (a 240 MiB sheet that declares its size, the same lying about it, a
60 MiB sheet within every cap, a 450,000-cell workbook), JSON bodies (100k-deep nesting,
a million empty arrays, a 48 MiB string, NaN and 5000-digit timeouts), a 1 GiB gzip bomb,
a CSV of 495,000 cells, a 5000-digit Range, 40 MiB form fields and a 1000-field form.
Meanwhile a thread asks ``GET /_emulator/health`` back to back on one kept-alive
connection and records each answer's latency. Targets: the slowest health answer <= 50 ms,
and the emulator's peak RSS (``VmHWM``) <= 256 MiB. Jobs take an hour by default, so what
is measured is the handling of the uploads alone; ``--job-seconds 0.2`` lets the jobs end
during the run (an update applying 99,000 rows, a 10,000-location bulk job) and measures
their completion too.
"""

from __future__ import annotations

import gzip
import http.client
import io
import json
import sys
import threading
import time
import urllib.parse
import uuid
import zipfile
from collections.abc import Iterable
from pathlib import Path

import _common as c

from sovfixer_async.emulator.outputs import make_xlsx

MIB = 1024 * 1024
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
SHEET = "xl/worksheets/sheet1.xml"


# -- payloads ----------------------------------------------------------------------------------


def with_sheet(chunks: Iterable[bytes], size: int | None = None) -> bytes:
    template = zipfile.ZipFile(io.BytesIO(make_xlsx("Sheet1", ["a"], [["x"]])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as book:
        for info in template.infolist():
            if info.filename != SHEET:
                book.writestr(info.filename, template.read(info))
        entry = zipfile.ZipInfo(SHEET)
        entry.compress_type = zipfile.ZIP_DEFLATED
        if size is not None:
            entry.file_size = size
        with book.open(entry, "w") as sheet:
            for chunk in chunks:
                sheet.write(chunk)
    return out.getvalue()


def spaces_sheet(inflated: int) -> bytes:
    head = f'<worksheet xmlns="{MAIN}"><sheetData>'.encode()
    tail = b'<row r="1"><c r="A1" t="inlineStr"><is><t>a</t></is></c></row></sheetData></worksheet>'
    body = inflated - len(head) - len(tail)
    return with_sheet(
        [head, *(b" " * MIB for _ in range(body // MIB)), b" " * (body % MIB), tail], inflated
    )


def lie(data: bytes, declared: int) -> bytes:
    import struct

    out = bytearray(data)
    info = zipfile.ZipFile(io.BytesIO(data)).getinfo(SHEET)
    struct.pack_into("<I", out, info.header_offset + 22, declared)
    at = out.find(b"PK\x01\x02")
    while at >= 0:
        name_len, extra, comment = struct.unpack_from("<3H", out, at + 28)
        if out[at + 46 : at + 46 + name_len] == SHEET.encode():
            struct.pack_into("<I", out, at + 24, declared)
        at = out.find(b"PK\x01\x02", at + 46 + name_len + extra + comment)
    return bytes(out)


def big_workbook(rows: int, columns: int) -> bytes:
    header = [f"col{n}" for n in range(columns)]
    return make_xlsx("Sheet1", header, [[f"r{r}c{n}" for n in range(columns)] for r in range(rows)])


def gzip_bomb(inflated: int) -> bytes:
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=6, mtime=0) as stream:
        stream.write(b'{"locations": [')
        for _ in range(inflated // MIB):
            stream.write(b" " * MIB)
        stream.write(b"]}")
    return out.getvalue()


def multipart(fields: list[tuple[str, str | None, bytes]]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    out = io.BytesIO()
    for name, filename, data in fields:
        disposition = f'form-data; name="{name}"'
        if filename:
            disposition += f'; filename="{filename}"'
        out.write(f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode())
        out.write(data)
        out.write(b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


ONE = b'{"locations": [{"id": "a", "address": "1 Main St"}], "sources": ["GG"]'


def payloads() -> list[tuple[str, str, str, bytes, dict[str, str]]]:
    """(name, method, path, body, headers); ``{sudid}`` is filled in later."""
    json_h = {"Content-Type": "application/json"}
    out: list[tuple[str, str, str, bytes, dict[str, str]]] = []

    def sov(name: str, data: bytes) -> None:
        body, ctype = multipart([("file", "bomb.xlsx", data)])
        out.append((name, "POST", "/api/v1/sov", body, {"Content-Type": ctype}))

    bomb = spaces_sheet(240 * MIB)
    sov(f"xlsx {len(bomb) // 1024} KiB -> 240 MiB (declared)", bomb)
    sov("xlsx 240 MiB, declares 60 MiB", lie(bomb, 60 * MIB))
    sov("xlsx 60 MiB sheet, within caps", spaces_sheet(60 * MIB))
    sov("xlsx 45,000 x 10 cells", big_workbook(45_000, 10))
    out.append(("json 100k-deep", "POST", "/api/v1/bulk_enhance", b"[" * 100_000, json_h))
    out.append(
        ("json 1M empty arrays (3 MiB)", "POST", "/api/v1/bulk_enhance",
         b"[" + b"[]," * 490_000 + b"[]]", json_h)
    )  # fmt: skip
    out.append(
        ("json 48 MiB string", "POST", "/api/v1/bulk_enhance",
         b'{"a": "' + b"z" * (48 * MIB) + b'"}', json_h)
    )  # fmt: skip
    out.append(
        ("json 15 MiB string", "POST", "/api/v1/bulk_enhance",
         b'{"a": "' + b"z" * (15 * MIB) + b'"}', json_h)
    )  # fmt: skip
    locations = [{"id": f"loc-{n}", "address": f"{n} Main St, Miami, FL"} for n in range(10_000)]
    out.append(
        ("json bulk of 10,000 locations", "POST", "/api/v1/bulk_enhance",
         json.dumps({"locations": locations, "sources": ["GG"]}).encode(), json_h)
    )  # fmt: skip
    out.append(
        ("json NaN timeout", "POST", "/api/v1/bulk_enhance", ONE + b', "timeout": NaN}', json_h)
    )
    out.append(
        ("json 5000-digit timeout", "POST", "/api/v1/bulk_enhance",
         ONE + b', "timeout": ' + b"9" * 5000 + b"}", json_h)
    )  # fmt: skip
    out.append(
        ("gzip 1 GiB bomb", "POST", "/api/v1/bulk_enhance", gzip_bomb(1024 * MIB),
         {**json_h, "Content-Encoding": "gzip"})
    )  # fmt: skip
    rows = b"item_key,a,b,c,d\n" + b"".join(b"i-x!Sheet1!%d,1,2,3,4\n" % n for n in range(99_000))
    body, ctype = multipart([("file", "rows.csv", rows)])
    out.append(
        ("csv 99,000 x 5 cells", "POST", "/api/v1/sov/update/{sudid}/add_locations", body,
         {"Content-Type": ctype})
    )  # fmt: skip
    out.append(
        ("form 40 MiB urlencoded field", "POST", "/api/v1/sov/update/{sudid}/start",
         b"extra_data=" + b"%41" * (40 * MIB // 3),
         {"Content-Type": "application/x-www-form-urlencoded"})
    )  # fmt: skip
    body, ctype = multipart([("extra_data", None, b"x" * (40 * MIB))])
    out.append(("multipart 40 MiB text field", "POST", "/api/v1/sov/update/{sudid}/start", body,
                {"Content-Type": ctype}))  # fmt: skip
    body, ctype = multipart([(f"f{n}", None, b"1") for n in range(1000)])
    out.append(("form 1000 fields", "POST", "/api/v1/sov/update/{sudid}/start", body,
                {"Content-Type": ctype}))  # fmt: skip
    out.append(("range 5000 digits", "GET", "/api/v1/sov/{seed}/input/{input}", b"",
                {"Range": "bytes=" + "9" * 5000 + "-"}))  # fmt: skip
    return out


# -- probes ------------------------------------------------------------------------------------


class HealthProbe(threading.Thread):
    """``GET /_emulator/health`` back to back; keeps every latency."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        parts = urllib.parse.urlsplit(url)
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        self.latencies: list[float] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            started = time.perf_counter()
            self.conn.request("GET", "/_emulator/health")
            self.conn.getresponse().read()
            self.latencies.append(time.perf_counter() - started)
            time.sleep(0.002)


def vm(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    return 0


def request(
    url: str, method: str, path: str, body: bytes, headers: dict[str, str]
) -> tuple[int, bytes]:
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=300)
    try:
        conn.request(
            method,
            path,
            body=body or None,
            headers={"Authorization": f"Token {c.TOKEN}", **headers},
        )
        response = conn.getresponse()
        return response.status, response.read()
    except (ConnectionError, http.client.HTTPException) as exc:  # e.g. reset after a 413
        return 0, str(exc).encode()
    finally:
        conn.close()


def main() -> int:
    p = c.parser(__doc__ or "")
    p.add_argument("--only", default="", help="send only the uploads whose names hold these")
    p.add_argument("--job-seconds", type=float, default=3600.0, help="the emulator's job time")
    args = p.parse_args()
    c.header("bench_emulator_hostile", args)
    print("# building payloads ...", flush=True)
    wanted = args.only.split(",")
    loads = [load for load in payloads() if any(w in load[0] for w in wanted)]
    table = c.Table("emulator under hostile uploads (one emulator process, defaults)")
    with c.emulator(args.job_seconds) as emu:
        pid = emu.process.pid
        status, raw = request(
            emu.url, "POST", f"/api/v1/sov/{c.SEED_SOVID}/initiate_update", b"", {}
        )
        sudid = json.loads(raw)["id"]
        status, raw = request(emu.url, "GET", f"/api/v1/sov/{c.SEED_SOVID}", b"", {})
        inputs = json.loads(raw)["result"]["inputs"]
        input_name = urllib.parse.quote(inputs[0]["filename"])
        idle = HealthProbe(emu.url)
        idle.start()
        time.sleep(1.0)
        idle.stop.set()
        idle.join()
        baseline_rss = vm(pid, "VmRSS")
        probe = HealthProbe(emu.url)
        probe.start()
        for name, method, path, body, headers in loads:
            path = path.format(sudid=sudid, seed=c.SEED_SOVID, input=input_name)
            mark = len(probe.latencies)
            started = time.perf_counter()
            status, answer = request(emu.url, method, path, body, headers)
            took = time.perf_counter() - started
            if path == "/api/v1/sov" and status == 201 and args.job_seconds < 1:
                sovid = json.loads(answer)["id"]
                time.sleep(0.3)
                _, raw = request(emu.url, "GET", f"/api/v1/sov/{sovid}", b"", {})
                result = json.loads(raw).get("result", {})
                outcome = f"{status} {result.get('status')}"
            else:
                outcome = str(status)
            during = probe.latencies[mark:] or [0.0]
            table.info(
                name,
                f"{outcome}, {took * 1e3:.0f} ms, health max {max(during) * 1e3:.1f} ms, "
                f"RSS now {c.fmt_mb(vm(pid, 'VmRSS'))}",
            )
        time.sleep(0.2)
        probe.stop.set()
        probe.join()
        peak = vm(pid, "VmHWM")
    lat = sorted(probe.latencies)
    table.info("health answers sampled", str(len(lat)))
    table.info("health latency idle (max)", f"{max(idle.latencies) * 1e3:.1f} ms")
    table.info(
        "health latency p50 / p99",
        f"{c.percentile(lat, 50) * 1e3:.1f} / {c.percentile(lat, 99) * 1e3:.1f} ms",
    )
    table.info("emulator RSS before the uploads", c.fmt_mb(baseline_rss))
    table.check("health latency max (ms)", max(lat) * 1e3, ".1f", "<=", 50)
    table.check("emulator peak RSS (MiB)", peak / MIB, ".1f", "<=", 256)
    table.print()
    return c.finish([table])


if __name__ == "__main__":
    sys.exit(main())
