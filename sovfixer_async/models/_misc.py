"""Ping.Extraction odds and ends (contract 3.14): server info, buildings, shareable URLs,
submissions. Their shapes are barely documented: every field is optional and unknown keys
are kept in ``extra``.
"""

from typing import Any

import attrs

__all__ = ["Building", "BuildingAdded", "ServerInfo", "ShareableUrl", "SubmissionCreated"]


@attrs.frozen(kw_only=True)
class ServerInfo:
    """``GET /api/v1/serverinfo`` (shape undocumented: what the server sends is in ``extra``)."""

    server: str | None = None
    version: str | None = None
    time: str | None = None
    extra: dict[str, Any] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class BuildingAdded:
    """``POST /api/v1/sov/{sovid}/add_building``: the new building's ``item_key`` if given."""

    message: str | None = None
    item_key: str | None = None
    extra: dict[str, Any] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class Building:
    """``GET /api/v1/building/{item_key}``: the identifying fields; every attribute of the
    building (``bldg_name``, ``const__num_stories``...) is in ``extra``."""

    item_key: str | None = None
    sheet_name: str | None = None
    sheet_row_number: int | None = None
    extra: dict[str, Any] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class ShareableUrl:
    """``GET /api/v1/pli/policy/{sovid}/get_public_shareable_url``."""

    url: str
    extra: dict[str, Any] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class SubmissionCreated:
    """``POST /api/v1/submission``: ``id`` (an int per the official SDK, read as text)
    names the update that ``add_locations`` and ``start`` continue."""

    id: str
    message: str | None = None
    extra: dict[str, Any] = attrs.field(factory=dict)
