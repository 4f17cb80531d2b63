"""The emulator's fixed catalogues: datasource codes, output formats, enumerations.

Plain data, built once; the contract (sections 3.10, 4.5, 5.7-5.12) is the source.
"""

from __future__ import annotations

from functools import cache

#: Datasource code -> name (contract 5.12), plus PGPRE, which the docs' example reports.
SOURCE_NAMES: dict[str, str] = {
    "NOOP": "No Op Datasource",
    "AZG": "Azure Geocoding",
    "BV": "Betterview",
    "CA": "Cape Analytics",
    "CLS_CSRS": "CoreLogic Spatial Coastal Storm Risk Score",
    "CLS_CRS": "CoreLogic Spatial Crime Risk Score",
    "CLS_DTFST": "CoreLogic Spatial Distance to FireStation",
    "CLS_EQRS": "CoreLogic Spatial Earthquake Risk Score",
    "CLS_FFRS": "CoreLogic Spatial Flash Flood Risk Score",
    "CLS_FRS": "CoreLogic Spatial Flood Risk Score",
    "CLS_HI": "CoreLogic Spatial Hail Insight",
    "CLS_HR": "CoreLogic Spatial Hail Risk",
    "CLS_NWFRS": "CoreLogic Spatial Non-Weather FireRisk Score",
    "CLS_NWWRS": "CoreLogic Spatial Non-Weather WaterRisk Score",
    "CLS_WFRS": "CoreLogic Spatial Wildfire Risk Score",
    "CLS_WRS": "CoreLogic Spatial Wind Risk Score",
    "DTC": "Distance To Coast",
    "DTFH": "Ping Distance To Fire Hydrant",
    "DTFST": "Ping Distance To Fire Station",
    "E2V": "E2Value Commercial Lite",
    "E2VR": "E2Value Residential Lite",
    "EC": "Easi Crime",
    "EG": "Esri Geocoding",
    "EGR": "Esri Reverse Geocoding",
    "FNRI": "Fema National Risk Index",
    "GIO": "Geocodio",
    "GEV": "Google Elevation",
    "GG": "Google Geocoding",
    "GGR": "Google Reverse Geocoding",
    "HH": "Hazardhub",
    "HG": "Here Geocoding",
    "IMF": "Intermap Flood",
    "KR": "Katrisk",
    "LP": "LibPostal",
    "LB": "Lightbox",
    "LBFZ": "Lightbox Flood Zone",
    "LBG": "Lightbox Geocoding",
    "LBP": "Lightbox Parcel",
    "LBGR": "Lightbox Reverse Geocoding",
    "LBSS": "Lightbox SpatialStream",
    "LBS": "Lightbox Structures",
    "DTFS": "Ping Distance To Florida Sinkhole",
    "PFF": "Ping Fema Flood Zone",
    "PFPC": "Ping Fire Protection Classification",
    "PG": "Ping Geocoding",
    "PH": "Ping Hazard",
    "PO": "Ping Occupancy",
    "PSZ": "Ping Slosh Zone",
    "PUC": "Ping USA Construction",
    "PUSDAW": "Ping USDA Wildfire",
    "PLP": "Ping Parcel",
    "PLB": "Ping Building",
    "PLA": "Ping Assessment",
    "PSG": "Precisely Geocoding",
    "REASKM": "Reask Metryc",
    "RZR": "Redzone Risk",
    "RMSLCP": "RMS Loss Cost Pricing",
    "RMS_US_ESDB": "RMS US ExposureSource Database",
    "SM": "Smarty Street Address",
    "TF": "Tensorflight",
    "T4D": "Teren4d",
    "TG": "Tiger Geocoding",
    "VP": "Verisk Property",
    "VPD": "Vexcel Property Damage",
    "VPI": "Vexcel Property Information",
    "PGPRE": "Ping Geocoding (pre-processing)",
}
SOURCE_CODES: tuple[str, ...] = tuple(SOURCE_NAMES)

#: Sources that turn an address into coordinates (they need an address, not coordinates).
GEOCODER_CODES: frozenset[str] = frozenset(
    {"PG", "PGPRE", "GG", "AZG", "EG", "HG", "GIO", "LBG", "PSG", "TG", "SM", "LP"}
)
#: Sources that answer for coordinates (reverse geocoders included).
_COORDINATE_CODES = frozenset({"EGR", "GGR", "LBGR", "GEV", "DTC", "DTFH", "DTFST", "DTFS"})

DEFAULT_OUTPUT_FORMATS: tuple[dict[str, object], ...] = (
    {"output_format": "JSON", "label": "JSON", "is_public": True, "output_extension": "json"},
    {
        "output_format": "DEBUGJSON",
        "label": "DEBUGJSON",
        "is_public": True,
        "output_extension": "json",
    },
    {"output_format": "AUDITOR", "label": "Auditor", "is_public": True, "output_extension": "xlsx"},
)

UPDATE_TYPES: tuple[str, ...] = (
    "SCRUB",
    "AIR",
    "RMS",
    "RMS_ANALYSIS",
    "API",
    "COMPLETE",
    "PINGREADY",
)
DOCUMENT_TYPES: tuple[str, ...] = ("SOV", "PREM_BDX", "CLAIM_BDX", "SOV_BDX", "ACORD", "LOSS_RUN")
RECORD_TYPES: tuple[str, ...] = (
    "ORIG",
    "SCRUB",
    "AIR",
    "RMS",
    "RMS_ANALYSIS",
    "API",
    "COMPLETE",
    "READY_FOR_REVIEW",
    "PINGREADY",
    "PRECERTIFIED",
    "MODELING_FILES_CREATED",
)
ACTIVITY_STATUSES: tuple[str, ...] = ("P", "I", "E", "R", "C", "F")
ORIGINS: tuple[str, ...] = ("api", "email")

_ADDRESS_ATTRS = ["address", "address_line_1", "city", "state", "postal_code", "country"]
_BASE_OUTPUT_FIELDS: dict[str, dict[str, object]] = {
    "is_success": {"type": "boolean", "description": "Whether retrieval succeeded."},
    "error_message": {"type": "string", "description": "Set when retrieval failed."},
    "confidence": {"type": "number", "description": "Reliability of the data, 0-100."},
    "status_code": {"type": "number", "description": "HTTP-style status of the fetch."},
    "fetch_time": {"type": "number", "description": "Seconds taken."},
    "is_cache_hit": {"type": "boolean", "description": "Served from cache."},
}


def _config(code: str) -> dict[str, object]:
    geocoder = code in GEOCODER_CODES
    coordinates = code in _COORDINATE_CODES
    if geocoder:
        required, optional = ["address"], _ADDRESS_ATTRS[1:]
        output = {
            "latitude": {"type": "number", "category": "geocode"},
            "longitude": {"type": "number", "category": "geocode"},
            "formatted_address": {"type": "string", "category": "geocode"},
            "precision": {"type": "string", "category": "geocode"},
        }
    else:
        required = ["latitude", "longitude"]
        optional = ["address", "bldg_name"] if coordinates else ["address", "country"]
        output = {"external_data": {"type": "object", "category": "hazard"}}
    return {
        "source_name": SOURCE_NAMES[code],
        "source_code": code,
        "required_attrs": required,
        "optional_attrs": optional,
        "requires_credentials": code not in ("NOOP", "PG", "PGPRE", "PH", "LP", "TG"),
        "non_supported_input_values": None,
        "supported_countries": ["US"] if code.startswith(("CLS_", "PUS", "PF")) else None,
        "supported_us_states": None,
        "excluded_us_states": None,
        "geocode_confidence_required": None if geocoder else 50,
        "geocode_precision_required": None,
        "output_fields": output,
        "base_output_fields": _BASE_OUTPUT_FIELDS,
    }


@cache
def _configs() -> dict[str, dict[str, object]]:
    return {code: _config(code) for code in SOURCE_CODES}


def datasource_configs() -> dict[str, dict[str, object]]:
    """Code -> configuration (contract 4.5) for every known datasource."""
    return dict(_configs())
