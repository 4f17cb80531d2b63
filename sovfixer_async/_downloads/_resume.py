"""The resume state machine: the reading side of one download across its attempts.

An attempt that ends early is followed by a ``Range`` request guarded by ``If-Range`` (a
strong ETag, else ``Last-Modified``) when the server offers byte ranges, else by a fresh
full body; whether and when to try again is :func:`~._retry.should_retry`'s call, the
one seam to the transport's retry policy and budget.
"""

from __future__ import annotations

import time
from typing import Final

import aiohttp
import anyio
from yarl import URL

from sovfixer_async._downloads._http import (
    MAX_REDIRECTS,
    REDIRECTS,
    borrow,
    content_range,
    describe,
    drain,
    error_body,
    same_representation,
    validator_of,
)
from sovfixer_async._downloads._part import PartState
from sovfixer_async._downloads._retry import Failure, should_retry
from sovfixer_async._downloads._transfer import DownloadResult, Transfer, logger
from sovfixer_async._errors import DownloadIntegrityError
from sovfixer_async._transport import Response, api_error, parse_retry_after

__all__ = ["Download", "DownloadResult"]

# A slow link still hands its bytes to disk (and reports progress) this often.
_BATCH_SECONDS: Final = 0.5
_DONE: Final = "done"


class Download(Transfer):
    """One download: attempts, resumes and retries until the body is whole."""

    async def fetch(self) -> None:
        """Attempts until the whole body has been handed to the writer."""
        stalled = refused = 0
        policy = self.transport.config.retry
        while True:
            self.attempts += 1
            best_before = self.best
            outcome = await self.attempt()
            if outcome == _DONE:
                return
            assert isinstance(outcome, Failure)
            self.best = max(self.best, self.offset)
            if outcome.refused:
                refused += 1
                count, limit = refused, policy.attempts
            elif self.best > best_before:
                stalled = count = 0
                limit = self.max_stalled
            else:
                stalled += 1
                count, limit = stalled, self.max_stalled
            decision = should_retry(
                count,
                outcome,
                outcome.retry_after,
                self.transport.budget,
                policy=policy,
                limit=limit,
            )
            if decision.delay is None:
                raise self.fail(f"{outcome.reason}; {decision.why}")
            self.transport.stats.retries += 1
            logger.info(
                "download of %s: attempt %d ended (%s) at %d bytes; retrying in %.2f s",
                self.url,
                self.attempts,
                outcome.reason,
                self.offset,
                decision.delay,
                extra={"job_id": self.job_id},
            )
            await anyio.sleep(decision.delay)

    async def attempt(self) -> Failure | str:
        transport = self.transport
        session = transport.session
        url = self.url
        await transport.rate.acquire(url)
        async with borrow(transport.download_slots), transport.slot():
            if self.part is None and self.path is not None:
                await self.open_part(None)  # a stale part may tell where to resume
            headers = {"Accept-Encoding": "identity"}
            ranged = self.offset > 0 and self.validator is not None
            if ranged:
                assert self.validator is not None
                headers["Range"] = f"bytes={self.offset}-"
                headers["If-Range"] = self.validator
            for _ in range(MAX_REDIRECTS + 1):
                transport.stats.requests += 1
                transport.budget.record_request()
                try:
                    async with session.get(
                        url,
                        headers={**headers, **transport.auth_headers(url)},
                        proxy=transport.proxy_for(url),
                        allow_redirects=False,
                        auto_decompress=False,
                    ) as resp:
                        transport.stats.by_status[resp.status] += 1
                        transport.rate.on_response(
                            url, resp.status, parse_retry_after(resp.headers.get("Retry-After"))
                        )
                        if resp.status in REDIRECTS:
                            url = self.redirect(url, resp.headers.get("Location"))
                            continue
                        return await self.handle(resp, ranged)
                except (aiohttp.InvalidURL, aiohttp.ClientConnectorCertificateError) as exc:
                    raise self.fail(describe(exc)) from exc
                except (aiohttp.ClientError, TimeoutError) as exc:
                    return Failure(describe(exc))
        raise self.fail(f"more than {MAX_REDIRECTS} redirects")

    def redirect(self, url: str, location: str | None) -> str:
        if not location:
            raise self.fail("redirect without a Location header")
        nxt = URL(url).join(URL(location))
        if nxt.scheme not in ("http", "https"):
            raise self.fail(f"redirect to a non-HTTP URL: {nxt.scheme}:")
        return str(nxt)

    async def handle(self, resp: aiohttp.ClientResponse, ranged: bool) -> Failure | str:
        status = resp.status
        if status == 200:
            await self.adopt(resp)
            return await self.stream(resp)
        if status == 206:
            cr = content_range(resp.headers.get("Content-Range"))
            if (
                not ranged
                or self.validator is None
                or cr is None
                or cr[0] != self.offset
                or not same_representation(resp.headers, self.validator)
            ):
                # Not the continuation we asked for: start over from a full body.
                self.validator = None
                await self.restart()
                return Failure(f"unusable 206 (Content-Range {resp.headers.get('Content-Range')})")
            self.resumed = True
            if cr[2] is not None:
                self.total = cr[2]
            return await self.stream(resp)
        if status == 416:
            cr = content_range(resp.headers.get("Content-Range"))
            if ranged and cr is not None and cr[2] is not None and cr[2] == self.offset:
                self.total = cr[2]
                return _DONE  # everything had arrived already
            await self.restart()
            return Failure("HTTP 416: range not satisfiable, starting over")
        if status in (429, 503) or status >= 500:
            await drain(resp)
            return Failure(
                f"HTTP {status}",
                retry_after=parse_retry_after(resp.headers.get("Retry-After")),
                refused=status in (429, 503),
            )
        if 400 <= status < 500:
            response = Response(status, resp.headers, await error_body(resp), str(resp.url))
            raise api_error(f"GET {URL(self.url).path}", response, self.job_id)
        raise self.fail(f"unexpected HTTP {status}")

    async def adopt(self, resp: aiohttp.ClientResponse) -> None:
        """A full 200 body: take its validator and length, start over if bytes were held."""
        etag = resp.headers.get("ETag")
        if etag != self.etag:
            self.best = 0  # a different representation: all bytes are new bytes
        self.etag = etag
        encoding = resp.headers.get("Content-Encoding", "").strip().lower()
        if encoding in ("", "identity"):
            self.encoding = None
        elif encoding in ("gzip", "x-gzip", "deflate"):
            self.encoding = encoding
        else:
            raise self.fail(f"unsupported Content-Encoding {encoding!r} despite identity")
        ranges = "bytes" in resp.headers.get("Accept-Ranges", "").lower()
        self.validator = validator_of(resp.headers, ranges) if self.encoding is None else None
        length = resp.headers.get("Content-Length")
        self.total = int(length) if length and length.isdigit() and not self.encoding else None
        if self.part is None:
            await self.open_part(resp)
        state = None
        if self.validator is not None:
            state = PartState(self.url, self.validator, self.total)
        await self.restart(state)  # sets the decoder; truncates what an earlier body left

    async def stream(self, resp: aiohttp.ClientResponse) -> Failure | str:
        batch: list[bytes] = []
        size = 0
        started = time.monotonic()
        limit = self.batch_bytes
        try:
            async for chunk in resp.content.iter_chunked(self.chunk_size):
                batch.append(chunk)
                size += len(chunk)
                if size >= limit or time.monotonic() - started >= _BATCH_SECONDS:
                    self.offset += size
                    await self.put(batch)
                    batch, size, started = [], 0, time.monotonic()
        except (aiohttp.ClientError, TimeoutError) as exc:
            if batch:  # bytes that arrived before the drop are good: keep them
                self.offset += size
                await self.put(batch)
            return Failure(describe(exc))
        if batch:
            self.offset += size
            await self.put(batch)
        if self.total is None or self.offset == self.total:
            return _DONE
        if self.offset < self.total and self.validator is not None:
            return Failure(f"body ended at {self.offset} of {self.total} bytes")
        raise self.fail(
            f"server sent {self.offset} bytes, announced {self.total}", DownloadIntegrityError
        )
