"""The emulator's fixed catalogues: datasource codes and configs, output formats, enumerations.

Plain data built once at import (configs on first use); the contract (sections 3.10, 3.13,
4.5, 5.7-5.12, 6.4) is the source. ``enrich`` generates per-source results from the same
field tables, so what ``GET /api/v1/datasources`` advertises is what the sources return.
"""

from __future__ import annotations

from functools import cache

#: Datasource code -> name (contract 5.12), plus PGPRE, which the docs' bulk example reports.
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
    "PGPRE": "Ping Geocoding Preprocessing",
}
#: Every known datasource code: the 65 of contract 5.12, then PGPRE.
SOURCE_CODES: tuple[str, ...] = tuple(SOURCE_NAMES)

#: Sources that turn an address into coordinates and address parts.
GEOCODER_CODES: frozenset[str] = frozenset(
    {"PG", "PGPRE", "GG", "AZG", "EG", "HG", "GIO", "LBG", "PSG", "TG", "SM"}
)
#: Sources that turn coordinates into an address.
REVERSE_GEOCODER_CODES: frozenset[str] = frozenset({"EGR", "GGR", "LBGR"})
#: Sources that split an address into parts without locating it.
ADDRESS_PARSER_CODES: frozenset[str] = frozenset({"LP"})
#: Sources that put their attributes under ``external_data`` (contract 6.4: Ping Hazard).
EXTERNAL_DATA_CODES: frozenset[str] = frozenset({"PH"})
#: Ping's own sources and the free ones: no provider credentials needed.
_NO_CREDENTIALS = frozenset(
    {"NOOP", "PG", "PGPRE", "PH", "LP", "TG", "DTC", "DTFH", "DTFST", "DTFS", "PFF", "PFPC"}
    | {"PO", "PSZ", "PUC", "PUSDAW", "PLP", "PLB", "PLA", "FNRI"}
)

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

#: ``initiate_update`` ``update_type`` values (contract 5.7); ``API`` is the default.
UPDATE_TYPES: tuple[str, ...] = (
    "SCRUB",
    "AIR",
    "RMS",
    "RMS_ANALYSIS",
    "API",
    "COMPLETE",
    "PINGREADY",
)
#: ``document_type`` values (contract 5.9); LOSS_RUN only the SDK's CLI offers.
DOCUMENT_TYPES: tuple[str, ...] = ("SOV", "PREM_BDX", "CLAIM_BDX", "SOV_BDX", "ACORD", "LOSS_RUN")
#: History ``record_type`` values (contract 5.8); anything but ORIG is a SUD.
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
#: ``SOVData`` keys of ``GET /api/v1/sov/activity`` (contract 3.13), the ``fields`` options.
ACTIVITY_FIELDS: tuple[str, ...] = (
    "id",
    "document_type",
    "pct_complete",
    "filename",
    "additional_filenames",
    "status",
    "status_display",
    "last_health_status",
    "client_ref",
    "input_data",
    "output_data",
    "origin",
    "organization__short_name",
    "company__short_name",
    "team__name",
    "division__short_name",
    "global_request_id",
    "ping_maps_url",
    "ping_vision_url",
    "input_file_url",
    "extra_data",
    "updates",
    "all_updates",
    "latest_revision",
    "completed_time",
    "created_time",
    "subject",
    "from_email",
    "to_email",
    "num_buildings",
    "progress_started_time",
    "parsing_completed_time",
    "pingdata_stats",
    "ping_maps",
    "data_readiness_score",
    "data_readiness_notes",
)
#: History/activity single-letter statuses (contract 5.6), in job order.
ACTIVITY_STATUSES: tuple[str, ...] = ("P", "I", "E", "R", "C", "F")
#: Activity ``origin`` values (contract 5.10).
ORIGINS: tuple[str, ...] = ("api", "email")

# --- datasource configs (contract 4.5) ------------------------------------------------------

#: Geocode precision levels (higher is finer); ``precision`` in geocoder results and
#: ``geocode_precision_required`` in configs use these numbers.
PRECISION_LEVELS: dict[str, int] = {
    "COUNTRY": 1,
    "REGION": 2,
    "CITY": 3,
    "POSTAL_CODE": 4,
    "STREET": 5,
    "ADDRESS": 6,
    "ROOFTOP": 7,
}
#: Geocoder ``location_type`` -> ``precision``.
LOCATION_TYPES: dict[str, int] = {
    "ROOFTOP": 7,
    "RANGE_INTERPOLATED": 6,
    "GEOMETRIC_CENTER": 5,
    "APPROXIMATE": 3,
}
#: Input values geocoders refuse (placeholders common in SOVs).
UNSUPPORTED_ADDRESSES: tuple[str, ...] = ("TBD", "N/A", "VARIOUS", "UNKNOWN", "SEE SCHEDULE")

_ADDRESS_ATTRS = ["address_line_1", "address_line_2", "city", "state", "postal_code", "county"]
_STRUCTURED = [["address_line_1", "city"]]
_COASTAL_STATES = [
    "TX", "LA", "MS", "AL", "FL", "GA", "SC", "NC", "VA", "MD", "DE", "NJ", "NY", "CT", "RI",
    "MA", "NH", "ME", "HI", "PR",
]  # fmt: skip
_RISK_CLASSES = ["Very Low", "Low", "Moderate", "High", "Very High"]
_FLOOD_ZONES = ["X", "X500", "A", "AE", "AO", "VE", "D"]
_ROOF_MATERIALS = ["Asphalt Shingle", "Metal", "Tile", "Membrane", "Built-Up", "Wood Shake"]
_ROOF_CONDITIONS = ["Excellent", "Good", "Fair", "Poor", "Severe"]
_OCCUPANCIES = ["Office", "Retail", "Warehouse", "Light Manufacturing", "Apartments", "Hotel"]
_CONSTRUCTIONS = [
    "Frame", "Joisted Masonry", "Non-Combustible", "Masonry Non-Combustible",
    "Modified Fire Resistive", "Fire Resistive",
]  # fmt: skip
_LAND_USES = ["Commercial", "Industrial", "Multi-Family", "Mixed Use", "Institutional"]


def _num(
    lo: float, hi: float, description: str, *, digits: int = 2, category: str = "risk"
) -> dict[str, object]:
    """A numeric output field; ``min``/``max``/``digits`` are extra keys the emulator reads."""
    return {
        "type": "number",
        "description": description,
        "category": [category],
        "min": lo,
        "max": hi,
        "digits": digits,
    }


def _int(lo: int, hi: int, description: str, *, category: str = "risk") -> dict[str, object]:
    return {
        "type": "integer",
        "description": description,
        "category": [category],
        "min": lo,
        "max": hi,
    }


def _enum(values: list[str], description: str, *, category: str = "risk") -> dict[str, object]:
    return {
        "type": "string",
        "description": description,
        "display_type": "choice",
        "return_values": list(values),
        "category": [category],
    }


def _flag(description: str, *, category: str = "property") -> dict[str, object]:
    return {"type": "boolean", "description": description, "category": [category]}


def _ident(description: str, *, category: str = "property") -> dict[str, object]:
    """A generated identifier string (``<CODE>-<hex>``)."""
    return {"type": "string", "description": description, "category": [category]}


def _score(what: str) -> dict[str, dict[str, object]]:
    return {
        "risk_score": _int(1, 100, f"{what} risk score, 1 (lowest) to 100 (highest)."),
        "risk_class": _enum(_RISK_CLASSES, f"{what} risk class."),
    }


_GEOCODE_FIELDS: dict[str, dict[str, object]] = {
    "latitude": _num(-90, 90, "Latitude (WGS84).", digits=6, category="geocode"),
    "longitude": _num(-180, 180, "Longitude (WGS84).", digits=6, category="geocode"),
    "formatted_address": {
        "type": "string",
        "description": "One-line address.",
        "category": ["geocode"],
    },
    "street_number": {"type": "string", "description": "House number.", "category": ["geocode"]},
    "route": {"type": "string", "description": "Street name.", "category": ["geocode"]},
    "location_type": _enum(list(LOCATION_TYPES), "How the point was found.", category="geocode"),
    "place_id": {
        "type": "string",
        "description": "The provider's place id.",
        "category": ["geocode"],
    },
    "address_line_1": {"type": "string", "description": "Street address.", "category": ["geocode"]},
    "city": {"type": "string", "description": "City.", "category": ["geocode"]},
    "state": {"type": "string", "description": "State (USPS code).", "category": ["geocode"]},
    "postal_code": {"type": "string", "description": "ZIP code.", "category": ["geocode"]},
    "county": {"type": "string", "description": "County.", "category": ["geocode"]},
    "country": {
        "type": "string",
        "description": "ISO 3166 alpha-2 country.",
        "category": ["geocode"],
    },
    "precision": {
        "type": "integer",
        "description": "Geocode precision, 1 (country) to 7 (rooftop).",
        "return_values": dict(PRECISION_LEVELS),
        "category": ["geocode"],
    },
}
_REVERSE_FIELDS = {
    k: _GEOCODE_FIELDS[k]
    for k in ("formatted_address", "address_line_1", "city", "state", "postal_code", "county")
} | {"country": _GEOCODE_FIELDS["country"]}
_PARSER_FIELDS: dict[str, dict[str, object]] = {
    k: {"type": "string", "description": f"Parsed {k.replace('_', ' ')}.", "category": ["address"]}
    for k in ("house_number", "road", "city", "state", "postcode", "country")
}
_HAZARD_FIELDS: dict[str, dict[str, object]] = {
    "wind_score": _int(1, 100, "Wind hazard score."),
    "hail_score": _int(1, 100, "Hail hazard score."),
    "flood_score": _int(1, 100, "Flood hazard score."),
    "wildfire_score": _int(1, 100, "Wildfire hazard score."),
    "earthquake_score": _int(1, 100, "Earthquake hazard score."),
    "tornado_score": _int(1, 100, "Tornado hazard score."),
    "storm_surge_score": _int(1, 100, "Storm surge hazard score."),
    "wind_tier": _int(1, 4, "Coastal wind tier, 1 (nearest the coast) to 4."),
    "fema_flood_zone": _enum(_FLOOD_ZONES, "FEMA flood zone."),
    "distance_to_coast_miles": _num(0, 1000, "Distance to the nearest coast, miles."),
}

#: Source code -> the fields it adds to the base ones (PH's live under ``external_data``).
SOURCE_OUTPUT_FIELDS: dict[str, dict[str, dict[str, object]]] = {
    "NOOP": {},
    "BV": {
        "roof_condition_rating": _enum(_ROOF_CONDITIONS, "Roof condition.", category="property"),
        "roof_material": _enum(_ROOF_MATERIALS, "Roof material.", category="property"),
        "tree_overhang_pct": _num(0, 100, "Roof area under trees, percent.", digits=1),
    },
    "CA": {
        "roof_condition_rating": _enum(_ROOF_CONDITIONS, "Roof condition.", category="property"),
        "roof_geometry": _enum(
            ["Gable", "Hip", "Flat", "Mixed"], "Roof shape.", category="property"
        ),
        "building_footprint_sqft": _int(
            800, 250_000, "Footprint area, sq ft.", category="property"
        ),
    },
    "CLS_CSRS": _score("Coastal storm"),
    "CLS_CRS": _score("Crime"),
    "CLS_DTFST": {"distance_to_fire_station_miles": _num(0.1, 25, "Nearest fire station, miles.")},
    "CLS_EQRS": _score("Earthquake"),
    "CLS_FFRS": _score("Flash flood"),
    "CLS_FRS": _score("Flood"),
    "CLS_HI": {
        "hail_events_10yr": _int(0, 40, "Damaging hail events in 10 years."),
        "max_hail_size_in": _num(0.75, 4.5, "Largest hail stone in 10 years, inches."),
    },
    "CLS_HR": _score("Hail"),
    "CLS_NWFRS": _score("Non-weather fire"),
    "CLS_NWWRS": _score("Non-weather water"),
    "CLS_WFRS": _score("Wildfire"),
    "CLS_WRS": _score("Wind"),
    "DTC": {
        "distance_to_coast_miles": _num(0, 1000, "Distance to the nearest coast, miles."),
        "coastline_type": _enum(["Ocean", "Gulf", "Bay", "Great Lake"], "Nearest coastline."),
    },
    "DTFH": {"distance_to_fire_hydrant_feet": _num(10, 5000, "Nearest hydrant, feet.", digits=0)},
    "DTFST": {"distance_to_fire_station_miles": _num(0.1, 25, "Nearest fire station, miles.")},
    "E2V": {
        "replacement_cost": _int(
            250_000, 50_000_000, "Estimated replacement cost, USD.", category="valuation"
        ),
        "cost_per_sqft": _num(90, 450, "Replacement cost per sq ft, USD.", category="valuation"),
    },
    "E2VR": {
        "replacement_cost": _int(
            150_000, 3_000_000, "Estimated replacement cost, USD.", category="valuation"
        ),
        "cost_per_sqft": _num(120, 600, "Replacement cost per sq ft, USD.", category="valuation"),
    },
    "EC": {
        "crime_index": _int(1, 500, "Overall crime index (100 = national average)."),
        "crime_grade": _enum(["A", "B", "C", "D", "F"], "Crime grade."),
    },
    "FNRI": {
        "nri_score": _num(0, 100, "FEMA National Risk Index score."),
        "nri_rating": _enum(
            ["Very Low", "Relatively Low", "Relatively Moderate", "Relatively High", "Very High"],
            "FEMA National Risk Index rating.",
        ),
    },
    "GEV": {"elevation_feet": _num(-20, 9000, "Ground elevation, feet.", digits=1)},
    "HH": {
        "wildfire_grade": _enum(["A", "B", "C", "D", "F"], "Wildfire risk grade."),
        "flood_grade": _enum(["A", "B", "C", "D", "F"], "Flood risk grade."),
        "wind_grade": _enum(["A", "B", "C", "D", "F"], "Wind risk grade."),
    },
    "IMF": {
        "flood_depth_100yr_feet": _num(0, 12, "100-year flood depth, feet."),
        "flood_risk_score": _int(1, 10, "Flood risk score, 1 to 10."),
    },
    "KR": {
        "inland_flood_aal": _num(0, 5, "Inland flood average annual loss per 1,000 USD.", digits=3),
        "storm_surge_aal": _num(0, 5, "Storm surge average annual loss per 1,000 USD.", digits=3),
    },
    "LB": {
        "parcel_id": _ident("Lightbox parcel id."),
        "land_use": _enum(_LAND_USES, "Land use.", category="property"),
        "lot_size_acres": _num(0.05, 80, "Lot size, acres.", category="property"),
    },
    "LBFZ": {
        "fema_flood_zone": _enum(_FLOOD_ZONES, "FEMA flood zone."),
        "in_special_flood_hazard_area": _flag(
            "Inside a special flood hazard area.", category="risk"
        ),
    },
    "LBP": {
        "parcel_id": _ident("Lightbox parcel id."),
        "apn": _ident("Assessor's parcel number."),
        "parcel_area_sqft": _int(2_000, 3_000_000, "Parcel area, sq ft.", category="property"),
    },
    "LBSS": {
        "parcel_id": _ident("Lightbox parcel id."),
        "zoning": _enum(
            ["C-1", "C-2", "I-1", "I-2", "M-1", "R-4"], "Zoning code.", category="property"
        ),
    },
    "LBS": {
        "structure_id": _ident("Lightbox structure id."),
        "building_count": _int(1, 12, "Structures on the parcel.", category="property"),
        "building_footprint_sqft": _int(
            800, 250_000, "Footprint area, sq ft.", category="property"
        ),
    },
    "DTFS": {"distance_to_sinkhole_miles": _num(0, 150, "Nearest recorded sinkhole, miles.")},
    "PFF": {
        "fema_flood_zone": _enum(_FLOOD_ZONES, "FEMA flood zone."),
        "base_flood_elevation_feet": _num(0, 30, "Base flood elevation, feet.", digits=1),
    },
    "PFPC": {"fire_protection_class": _int(1, 10, "ISO public protection class.")},
    "PO": {
        "occupancy__desc_ping": _enum(_OCCUPANCIES, "Ping occupancy.", category="occupancy"),
        "occupancy__code_atc": _int(1, 40, "ATC occupancy code.", category="occupancy"),
    },
    "PSZ": {
        "slosh_zone": _enum(["1", "2", "3", "4", "5", "Outside"], "SLOSH hurricane category zone.")
    },
    "PUC": {
        "const__desc_ping": _enum(_CONSTRUCTIONS, "Ping construction.", category="construction"),
        "const__code_iso": _int(1, 6, "ISO construction class.", category="construction"),
    },
    "PUSDAW": {
        "wildfire_hazard_potential": _enum(_RISK_CLASSES, "USDA wildfire hazard potential."),
        "burn_probability": _num(0, 0.05, "Annual burn probability.", digits=5),
    },
    "PLP": {
        "parcel_id": _ident("Ping parcel id."),
        "land_use": _enum(_LAND_USES, "Land use.", category="property"),
        "parcel_area_sqft": _int(2_000, 3_000_000, "Parcel area, sq ft.", category="property"),
    },
    "PLB": {
        "building_footprint_sqft": _int(
            800, 250_000, "Footprint area, sq ft.", category="property"
        ),
        "building_height_feet": _num(
            10, 400, "Building height, feet.", digits=1, category="property"
        ),
    },
    "PLA": {
        "assessed_value": _int(100_000, 80_000_000, "Assessed value, USD.", category="valuation"),
        "assessment_year": _int(2019, 2025, "Year of assessment.", category="valuation"),
    },
    "REASKM": {
        "wind_speed_100yr_mph": _num(70, 180, "100-year 3-second gust, mph.", digits=1),
        "wind_speed_250yr_mph": _num(80, 200, "250-year 3-second gust, mph.", digits=1),
    },
    "RZR": _score("Wildfire (Redzone)"),
    "RMSLCP": {
        "loss_cost_wind": _num(0, 8, "Wind loss cost per 1,000 USD.", digits=3, category="pricing"),
        "loss_cost_eq": _num(
            0, 4, "Earthquake loss cost per 1,000 USD.", digits=3, category="pricing"
        ),
    },
    "RMS_US_ESDB": {
        "const__code_rms": _int(1, 6, "RMS construction class.", category="construction"),
        "occupancy__code_rms": _int(1, 40, "RMS occupancy class.", category="occupancy"),
    },
    "TF": {
        "roof_material": _enum(_ROOF_MATERIALS, "Roof material.", category="property"),
        "roof_condition_rating": _enum(_ROOF_CONDITIONS, "Roof condition.", category="property"),
    },
    "T4D": {
        "terrain_slope_degrees": _num(0, 35, "Terrain slope, degrees.", digits=1),
        "landslide_susceptibility": _enum(_RISK_CLASSES, "Landslide susceptibility."),
    },
    "VP": {
        "const__code_iso": _int(1, 6, "ISO construction class.", category="construction"),
        "fire_protection_class": _int(1, 10, "ISO public protection class."),
    },
    "VPD": {
        "damage_detected": _flag("Damage visible in recent imagery."),
        "damage_rating": _enum(
            ["None", "Minor", "Moderate", "Major", "Destroyed"], "Damage rating."
        ),
    },
    "VPI": {
        "roof_material": _enum(_ROOF_MATERIALS, "Roof material.", category="property"),
        "has_solar_panels": _flag("Solar panels on the roof."),
        "has_pool": _flag("A swimming pool on the parcel."),
    },
    "PH": {
        "external_data": {
            "type": "object",
            "description": "Ping Hazard attributes.",
            "category": ["risk"],
            "fields": _HAZARD_FIELDS,
        }
    },
}
for _code in GEOCODER_CODES:
    SOURCE_OUTPUT_FIELDS[_code] = _GEOCODE_FIELDS
for _code in REVERSE_GEOCODER_CODES:
    SOURCE_OUTPUT_FIELDS[_code] = _REVERSE_FIELDS
SOURCE_OUTPUT_FIELDS["LP"] = _PARSER_FIELDS
#: The attributes of PH's ``external_data``.
HAZARD_FIELDS: dict[str, dict[str, object]] = _HAZARD_FIELDS

#: Base output attributes of every per-source result (contract 6.4).
BASE_OUTPUT_FIELDS: dict[str, dict[str, object]] = {
    "is_success": {
        "type": "boolean",
        "description": "Whether retrieval succeeded.",
        "return_values": [True, False],
    },
    "error_message": {"type": "text", "description": "Set when retrieval failed."},
    "raw_response": {"type": "object", "description": "The provider's unprocessed answer."},
    "persist_for": {"type": "object", "description": "How long the result may be cached."},
    "confidence": {"type": "number", "description": "Reliability of the data, 0-100."},
    "status_code": {"type": "number", "description": "HTTP-style status of the fetch."},
    "fetch_time": {"type": "number", "description": "Seconds taken."},
    "is_cache_hit": {
        "type": "boolean",
        "description": "Served from cache.",
        "return_values": [True, False],
    },
    "worker_name": {"type": "text", "description": "The worker that handled the request."},
}


def source_kind(code: str) -> str:
    """``geocoder``, ``reverse_geocoder``, ``address_parser``, ``noop`` or ``coordinates``."""
    if code in GEOCODER_CODES:
        return "geocoder"
    if code in REVERSE_GEOCODER_CODES:
        return "reverse_geocoder"
    if code in ADDRESS_PARSER_CODES:
        return "address_parser"
    if code == "NOOP":
        return "noop"
    return "coordinates"


def _coverage(code: str) -> tuple[list[str] | None, list[str] | None, list[str] | None]:
    """(supported_countries, supported_us_states, excluded_us_states)."""
    if code in ("NOOP", "GG", "AZG", "EG", "HG", "PSG", "PG", "PGPRE", "LP", "EGR", "GGR", "GEV"):
        return None, None, None
    if code == "GIO":
        return ["US", "CA"], None, None
    if code == "DTFS":
        return ["US"], ["FL"], None
    if code in ("PSZ", "CLS_CSRS", "DTC"):
        return ["US"], list(_COASTAL_STATES), None
    if code in ("CLS_HI", "CLS_HR"):
        return ["US"], None, ["AK", "HI", "PR"]
    if code in ("PUSDAW", "RZR"):
        return ["US"], None, ["PR"]
    return ["US"], None, None


def _config(code: str) -> dict[str, object]:
    kind = source_kind(code)
    countries, states, excluded = _coverage(code)
    unsupported: dict[str, list[str]] | None = None
    if kind == "geocoder":
        required = ["address"]
        optional = [*_ADDRESS_ATTRS, "country"]
        alternatives: list[list[str]] = list(_STRUCTURED)
        unsupported = {"address": list(UNSUPPORTED_ADDRESSES)}
        confidence_required = precision_required = None
    elif kind == "address_parser":
        required, optional, alternatives = ["address"], ["country"], []
        confidence_required = precision_required = None
    elif kind == "noop":
        required, optional, alternatives = [], ["address", "latitude", "longitude"], []
        confidence_required = precision_required = None
    else:  # answers for coordinates; a location without them is geocoded first
        required = ["latitude", "longitude"]
        optional = ["address", *_ADDRESS_ATTRS, "country", "bldg_name"]
        alternatives = [["address"], *_STRUCTURED]
        parcel = code in ("LB", "LBP", "LBS", "LBSS", "PLP", "PLB", "PLA", "BV", "CA", "TF")
        parcel = parcel or code in ("VPI", "VPD", "E2V", "E2VR")
        confidence_required = 80 if parcel else 50
        precision_required = PRECISION_LEVELS["ROOFTOP" if parcel else "POSTAL_CODE"]
        if code == "DTC":
            optional += ["dtc_include_coastline_within_miles", "dtc_return_connected_coastlines"]
        if code in ("E2V", "E2VR", "PUC", "PO"):
            optional += ["const__bldg_year_built", "const__bldg_area", "const__num_stories"]
            optional += ["occupancy__desc_ping", "const__desc_ping"]
    return {
        "source_name": SOURCE_NAMES[code],
        "source_code": code,
        "required_attrs": required,
        "optional_attrs": optional,
        "requires_credentials": code not in _NO_CREDENTIALS,
        "non_supported_input_values": unsupported,
        "supported_countries": countries,
        "supported_us_states": states,
        "excluded_us_states": excluded,
        "geocode_confidence_required": confidence_required,
        "geocode_precision_required": precision_required,
        "output_fields": SOURCE_OUTPUT_FIELDS[code],
        "base_output_fields": BASE_OUTPUT_FIELDS,
        # emulator extras: other attribute sets that satisfy the requirement
        # (coordinate sources geocode such a location first)
        "alternative_required_attrs": alternatives,
    }


@cache
def _configs() -> dict[str, dict[str, object]]:
    return {code: _config(code) for code in SOURCE_CODES}


def datasource_configs() -> dict[str, dict[str, object]]:
    """Code -> configuration (contract 4.5) for every known datasource, in catalogue order.

    Built once; the outer dict is a fresh copy, the configs inside are shared (read-only).
    """
    return dict(_configs())


def datasource_config(code: str) -> dict[str, object] | None:
    """One datasource's configuration, the code matched case-insensitively; None if unknown."""
    return _configs().get(code.strip().upper())
