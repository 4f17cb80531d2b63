"""The handle of an SOV update (SUD), with the two steps that follow ``initiate_update``.

``add_locations`` and ``start`` are public so an update that never started (an error, a
cancellation, a crash between the requests) can be finished in this or another process,
after ``client.resume(token)``. The handle and its token record how far the submission
got (``stage``), since the API reports an open update and a started one alike as PENDING.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping, Sequence
from typing import Any

from sovfixer_async._config import check_team
from sovfixer_async._context import JobContext
from sovfixer_async._errors import ConflictError, InvalidInputError
from sovfixer_async._jobs import JobHandle
from sovfixer_async._locations import LocationsInput, update_csv_batches
from sovfixer_async._refs import (
    INITIATED,
    LOCATIONS_SENT,
    STARTED,
    check_client_ref,
    token_client_ref,
    token_stage,
)
from sovfixer_async._transport import FilePart, Multipart, Safety
from sovfixer_async._urls import segment
from sovfixer_async._workflows import options
from sovfixer_async.models import UpdateStartRequest, UpdateStatus, unstructure
from sovfixer_async.models._checks import require_str_list

#: The fields ``start`` sends itself: ``extra_fields`` may not name them.
START_FIELDS = (
    "extra_data",
    "policy_terms",
    "outputter_name",
    "output_formats",
    "metadata",
    "integrations",
    "delegate_to_team",
)


class UpdateJob(JobHandle[UpdateStatus]):
    """An SOV update (SUD): initiate_update, add_locations, start, then poll.

    ``stage`` is how far the submission got as far as this handle knows: ``"initiated"``,
    ``"locations_sent"``, ``"started"``, or None (unknown: a token that did not say).
    ``client_ref`` is the reference its ``initiate_update`` carried (``client.reconcile``).
    """

    kind = "update"
    api = "extraction"
    status_type = UpdateStatus
    __slots__ = ("client_ref", "delegate_to_team", "stage")

    def __init__(
        self,
        context: JobContext,
        job_id: str,
        status: UpdateStatus | None = None,
        *,
        client_ref: str | None = None,
        stage: str | None = None,
        delegate_to_team: str | None = None,
    ):
        super().__init__(context, job_id, status)
        self.client_ref = None if client_ref is None else check_client_ref(client_ref, "client_ref")
        self.stage = stage
        #: The team its requests act for (sent with ``add_locations`` and ``start``).
        self.delegate_to_team = None if delegate_to_team is None else check_team(delegate_to_team)

    @classmethod
    def from_token(cls, context: JobContext, data: dict[str, Any]) -> UpdateJob:
        return cls(
            context,
            data["id"],
            client_ref=token_client_ref(data),
            stage=token_stage(data),
            delegate_to_team=data.get("delegate_to_team"),
        )

    def _token_fields(self) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        if self.client_ref is not None:
            fields["client_ref"] = self.client_ref
        if self.stage is not None:
            fields["stage"] = self.stage
        if self.delegate_to_team is not None:
            fields["delegate_to_team"] = self.delegate_to_team
        return fields

    def _status_path(self) -> str:
        return f"/api/v1/sov/update/{segment(self.id)}"

    async def add_locations(self, locations: LocationsInput, *, batch_rows: int = 5000) -> None:
        """Send rows to this update (before ``start``), in batches of ``batch_rows``.

        The rows are validated as ``update_sov`` validates them, all before the first batch
        is sent. Sending rows again is harmless: a later row for a building overrides an
        earlier one.
        """
        if self.stage == STARTED:
            raise InvalidInputError(
                f"update {self.id} is already started; rows can no longer be added",
                field="locations",
                job_id=self.id,
            )
        batches = await update_csv_batches(locations, batch_rows)
        await self._send_batches(batches)

    async def _send_batches(self, batches: list[bytes]) -> None:
        transport = self._rt.transport
        team = self.delegate_to_team
        fields = () if team is None else (("delegate_to_team", team),)
        for number, batch in enumerate(batches, start=1):
            await transport.request(
                "POST",
                "extraction",
                f"/api/v1/sov/update/{segment(self.id)}/add_locations",
                multipart=Multipart(
                    fields=fields,
                    files=[FilePart("file", f"locations-{number:04d}.csv", batch, "text/csv")],
                ),
                safety=Safety.SUBMIT,
                job_id=self.id,
                what=f"add_locations batch {number}/{len(batches)}",
            )
        if self.stage in (None, INITIATED):
            self.stage = LOCATIONS_SENT

    async def start(
        self,
        *,
        output_formats: Sequence[str] | None = None,
        extra_data: Mapping[str, Any] | None = None,
        policy_terms: Any = None,
        integrations: Sequence[str] | None = None,
        outputter_name: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        extra_fields: Mapping[str, Any] | None = None,
    ) -> UpdateJob:
        """Start the update (its rows sent); an "already started" answer counts as success.

        Takes ``update_sov``'s start keywords; returns the handle, to ``wait()`` on.
        """
        request = UpdateStartRequest(
            extra_data=dict(extra_data or {}),
            policy_terms=policy_terms,
            outputter_name=outputter_name,
            output_formats=None
            if output_formats is None
            else require_str_list(output_formats, "output_formats"),
            metadata=metadata,
            integrations=list(integrations) if integrations is not None else None,
        )
        await self._start(request, options.extra(extra_fields, START_FIELDS, form=False))
        return self

    async def _start(
        self, request: UpdateStartRequest, extra: Mapping[str, Any] | None = None
    ) -> None:
        body = {**unstructure(request), **(extra or {})}
        if self.delegate_to_team is not None:
            body["delegate_to_team"] = self.delegate_to_team
        # "already started" (409): an earlier start, this process's or another's, landed
        with contextlib.suppress(ConflictError):
            await self._rt.transport.request(
                "POST",
                "extraction",
                f"/api/v1/sov/update/{segment(self.id)}/start",
                json=body,
                safety=Safety.START,
                job_id=self.id,
                what="start of update",
            )
        self.stage = STARTED
        self._submitted = time.monotonic()  # its job runs from here: polls count from it
