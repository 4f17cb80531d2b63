"""Server lists a client caches: output formats and Ping.Data datasources."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import anyio

from sovfixer_async._errors import InvalidInputError
from sovfixer_async._transport import Transport
from sovfixer_async._transport._turnstile import TrickleEvent
from sovfixer_async.models import DatasourceConfig, OutputFormat, structure


class Catalog:
    """The formats and datasources of the account, each fetched once per client."""

    def __init__(self, transport: Transport) -> None:
        self._transport = transport
        self._formats: list[OutputFormat] | None = None
        self._datasources: dict[str, DatasourceConfig] | None = None
        # One fetch fills each cache, however many submissions ask for it at once.
        # Set while one fetch fills the formats cache; other callers wait on it together
        # (a lock handed them through one at a time, one loop turn each: a convoy), and
        # are woken a hundred per loop turn (5,000 submissions woken in one turn would
        # each build its request in it: ~100 ms of the loop in one piece).
        self._formats_filling: TrickleEvent | None = None
        self._datasources_lock = anyio.Lock()

    async def output_formats(
        self, sovid: str | None, division_uuid: str | None, team_uuid: str | None
    ) -> list[OutputFormat]:
        """The output formats the account may request (the unfiltered list is cached)."""
        unfiltered = sovid is None and division_uuid is None and team_uuid is None
        if not unfiltered:
            return await self._fetch_formats(sovid, division_uuid, team_uuid)
        while self._formats is None:
            filling = self._formats_filling
            if filling is not None:
                await filling.wait()  # then look again: that fetch may have failed
                continue
            self._formats_filling = filling = TrickleEvent()
            try:
                self._formats = await self._fetch_formats(None, None, None)
            finally:
                self._formats_filling = None
                filling.set()
        return list(self._formats)

    async def _fetch_formats(
        self, sovid: str | None, division_uuid: str | None, team_uuid: str | None
    ) -> list[OutputFormat]:
        response = await self._transport.request(
            "GET",
            "extraction",
            "/api/v1/output_formats",
            params={"sovid": sovid, "division_uuid": division_uuid, "team_uuid": team_uuid},
            what="list output formats",
        )
        data = response.json() or {}
        return [structure(f, OutputFormat) for f in data.get("output_formats") or []]

    async def datasources(self) -> dict[str, DatasourceConfig]:
        """Ping.Data datasource configurations by code (cached per client)."""
        if self._datasources is None:  # the lock only while the cache is empty (no convoy)
            async with self._datasources_lock:
                if self._datasources is None:
                    response = await self._transport.request(
                        "GET", "data", "/api/v1/datasources", what="list datasources"
                    )
                    configs = (response.json() or {}).get("configs") or {}
                    self._datasources = {
                        code: structure(config, DatasourceConfig)
                        for code, config in configs.items()
                    }
        return dict(self._datasources)

    async def check_formats(self, formats: Sequence[str], field: str) -> list[str]:
        """Canonical (server-spelled) formats, or an input error listing the allowed ones."""
        allowed = {
            f.output_format.upper(): f.output_format
            for f in await self.output_formats(None, None, None)
        }
        out = []
        for i, name in enumerate(formats):
            canonical = allowed.get(name.upper())
            if canonical is None:
                raise InvalidInputError(
                    f"unknown output format {name!r}; this account can request: "
                    + ", ".join(sorted(allowed.values())),
                    field=f"{field}[{i}]" if len(formats) > 1 else field,
                )
            out.append(canonical)
        return out

    async def check_sources(self, sources: Iterable[str], field: str) -> None:
        known = await self.datasources()
        unknown = sorted({s for s in sources if s.upper() not in known})
        if unknown:
            raise InvalidInputError(
                f"unknown datasource code(s) {', '.join(unknown)}; known codes: "
                + ", ".join(sorted(known)),
                field=field,
            )
