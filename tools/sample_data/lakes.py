"""The synthetic lakes table behind ``lakes.parquet``.

Rows are generated from a fixed seed with :class:`random.Random`, so the table,
and the Parquet bytes written from it, are identical on every run. Names and
numbers are made up, only shaped to look plausible (many small shallow lakes,
few large deep ones; saline lakes in dry regions; eutrophic Danish lakes...).
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import math
import random
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.parquet as pq

from .names import cumulative, pick, unique_lake_name

SEED = 20240611
"""Seed of the generator; changing it changes every value in the data set."""

WATER_TYPES = ("freshwater", "saline", "brackish", "alkaline")
ORIGINS = ("glacial", "tectonic", "volcanic", "fluvial", "karst", "coastal", "artificial")
TROPHIC_STATES = ("oligotrophic", "mesotrophic", "eutrophic", "hypereutrophic")


Box = tuple[float, float, float, float]
"""A latitude/longitude box: (south, north, west, east) in decimal degrees."""


@dataclass(frozen=True)
class Country:
    """Where and how lakes of one country are generated."""

    name: str
    code: str
    continent: str
    boxes: tuple[Box, ...]  # lakes are spread over these boxes, proportionally to their area
    elevation: tuple[int, int]
    lakes: int
    style: str
    water: tuple[int, int, int, int] = (88, 4, 6, 2)  # weights of WATER_TYPES
    origin: str = "glacial"  # the dominant origin
    trophic: tuple[int, int, int, int] = (25, 35, 30, 10)  # weights of TROPHIC_STATES
    area_shift: float = 0.0  # added to the mean of log(area)
    depth_shift: float = 0.0  # added to the mean of log(max depth)


_NORDIC = (45, 35, 15, 5)
_LOWLAND = (10, 35, 40, 15)
_TROPICAL = (10, 25, 40, 25)

COUNTRIES: tuple[Country, ...] = (
    Country(
        "Argentina",
        "AR",
        "South America",
        ((-40.0, -22.0, -68.0, -58.0), (-52.0, -40.0, -72.0, -66.0)),
        (0, 4500),
        150,
        "spanish",
        (70, 20, 3, 7),
        "tectonic",
    ),
    Country(
        "Australia",
        "AU",
        "Oceania",
        ((-38.0, -26.0, 115.0, 152.0), (-26.0, -15.0, 120.0, 145.0), (-43.5, -41.0, 145.0, 148.0)),
        (0, 1500),
        220,
        "english",
        (55, 35, 6, 4),
        "fluvial",
        depth_shift=-0.4,
    ),
    Country(
        "Austria",
        "AT",
        "Europe",
        ((46.5, 48.8, 9.7, 16.9),),
        (115, 2600),
        200,
        "german",
        (98, 0, 0, 2),
        "glacial",
        _NORDIC,
        depth_shift=0.3,
    ),
    Country(
        "Brazil",
        "BR",
        "South America",
        ((-25.0, -3.0, -60.0, -38.0), (-30.0, -25.0, -57.0, -49.0)),
        (0, 1500),
        120,
        "portuguese",
        (85, 2, 12, 1),
        "fluvial",
        _TROPICAL,
    ),
    Country(
        "Canada",
        "CA",
        "North America",
        ((49.0, 62.0, -125.0, -65.0), (44.0, 49.0, -83.0, -65.0), (60.0, 68.0, -135.0, -95.0)),
        (0, 2000),
        1500,
        "english",
        (95, 3, 1, 1),
        "glacial",
        _NORDIC,
        area_shift=0.4,
    ),
    Country(
        "Chile",
        "CL",
        "South America",
        ((-41.0, -18.0, -72.0, -69.0), (-53.0, -41.0, -74.0, -71.5)),
        (0, 4500),
        150,
        "spanish",
        (70, 20, 3, 7),
        "volcanic",
    ),
    Country(
        "China",
        "CN",
        "Asia",
        (
            (22.0, 41.0, 100.0, 122.0),
            (28.0, 38.0, 78.0, 100.0),
            (40.0, 48.0, 80.0, 95.0),
            (41.0, 48.0, 120.0, 130.0),
        ),
        (0, 5000),
        320,
        "chinese",
        (65, 25, 3, 7),
        "tectonic",
        _TROPICAL,
    ),
    Country(
        "Denmark",
        "DK",
        "Europe",
        ((54.8, 57.6, 8.2, 10.5), (54.9, 56.1, 11.1, 12.6), (55.0, 55.6, 9.8, 10.8)),
        (0, 170),
        420,
        "danish",
        (84, 0, 16, 0),
        "glacial",
        (5, 20, 50, 25),
        area_shift=-0.8,
        depth_shift=-0.4,
    ),
    Country(
        "Finland",
        "FI",
        "Europe",
        ((60.0, 64.5, 21.5, 30.5), (64.5, 69.5, 24.0, 29.5)),
        (0, 500),
        1300,
        "finnish",
        (97, 0, 3, 0),
        "glacial",
        _NORDIC,
        depth_shift=-0.3,
    ),
    Country(
        "France",
        "FR",
        "Europe",
        ((43.0, 50.5, -1.5, 7.5),),
        (0, 2500),
        350,
        "french",
        (92, 1, 6, 1),
        "fluvial",
    ),
    Country(
        "Germany",
        "DE",
        "Europe",
        ((47.5, 54.8, 6.0, 14.8),),
        (0, 1800),
        500,
        "german",
        (95, 0, 5, 0),
        "glacial",
        _LOWLAND,
    ),
    Country(
        "Iceland",
        "IS",
        "Europe",
        ((63.5, 66.4, -24.0, -13.6),),
        (0, 1000),
        150,
        "icelandic",
        (94, 0, 4, 2),
        "volcanic",
        _NORDIC,
    ),
    Country(
        "Ireland",
        "IE",
        "Europe",
        ((51.6, 55.3, -10.0, -6.0),),
        (0, 700),
        200,
        "irish",
        (96, 0, 4, 0),
        "glacial",
    ),
    Country(
        "Italy",
        "IT",
        "Europe",
        (
            (44.0, 46.5, 7.0, 13.5),
            (40.5, 44.0, 11.0, 16.0),
            (38.0, 41.0, 15.0, 16.8),
            (37.0, 38.2, 12.5, 15.5),
        ),
        (0, 2500),
        300,
        "italian",
        (93, 1, 5, 1),
        "volcanic",
        depth_shift=0.3,
    ),
    Country(
        "Japan",
        "JP",
        "Asia",
        ((33.0, 36.5, 130.5, 140.0), (36.5, 41.5, 138.5, 141.5), (41.5, 45.0, 140.0, 145.0)),
        (0, 2500),
        110,
        "japanese",
        (88, 0, 10, 2),
        "volcanic",
    ),
    Country(
        "Kenya",
        "KE",
        "Africa",
        ((-4.5, 4.5, 34.0, 41.0),),
        (0, 3500),
        80,
        "swahili",
        (55, 10, 0, 35),
        "tectonic",
        _TROPICAL,
    ),
    Country(
        "Mongolia",
        "MN",
        "Asia",
        ((42.0, 52.0, 88.0, 119.0),),
        (500, 3000),
        110,
        "mongolian",
        (55, 35, 0, 10),
        "tectonic",
        _NORDIC,
    ),
    Country(
        "New Zealand",
        "NZ",
        "Oceania",
        ((-41.5, -34.5, 172.5, 178.5), (-46.5, -40.5, 166.5, 174.0)),
        (0, 1500),
        110,
        "maori",
        (95, 0, 4, 1),
        "volcanic",
    ),
    Country(
        "Norway",
        "NO",
        "Europe",
        ((58.0, 63.0, 5.0, 12.0), (63.0, 67.0, 8.5, 15.5), (67.0, 70.5, 14.0, 29.0)),
        (0, 1600),
        800,
        "norwegian",
        (98, 0, 2, 0),
        "glacial",
        _NORDIC,
        depth_shift=0.3,
    ),
    Country(
        "Poland",
        "PL",
        "Europe",
        ((49.3, 54.7, 14.3, 23.9),),
        (0, 1500),
        300,
        "polish",
        (96, 0, 4, 0),
        "glacial",
        _LOWLAND,
    ),
    Country(
        "Russia",
        "RU",
        "Europe",
        ((50.0, 68.0, 30.0, 60.0), (52.0, 70.0, 60.0, 110.0), (45.0, 65.0, 110.0, 140.0)),
        (0, 2000),
        1200,
        "russian",
        (88, 8, 2, 2),
        "glacial",
        area_shift=0.3,
    ),
    Country(
        "Sweden",
        "SE",
        "Europe",
        ((55.4, 59.5, 12.0, 18.5), (59.5, 63.5, 12.5, 18.5), (63.5, 68.5, 14.0, 23.5)),
        (0, 1100),
        1100,
        "swedish",
        (98, 0, 2, 0),
        "glacial",
        _NORDIC,
    ),
    Country(
        "Switzerland",
        "CH",
        "Europe",
        ((45.9, 47.7, 6.0, 10.4),),
        (190, 2800),
        250,
        "german",
        (100, 0, 0, 0),
        "glacial",
        _NORDIC,
        depth_shift=0.4,
    ),
    Country(
        "Tanzania",
        "TZ",
        "Africa",
        ((-11.5, -1.0, 29.5, 40.0),),
        (0, 3000),
        80,
        "swahili",
        (60, 10, 0, 30),
        "tectonic",
        _TROPICAL,
    ),
    Country(
        "United Kingdom",
        "GB",
        "Europe",
        (
            (50.5, 53.5, -2.5, 1.5),
            (51.5, 53.3, -4.8, -2.5),
            (53.5, 56.0, -3.5, -0.5),
            (56.0, 58.5, -6.0, -3.0),
        ),
        (0, 900),
        400,
        "british",
        (95, 0, 5, 0),
        "glacial",
    ),
    Country(
        "United States",
        "US",
        "North America",
        ((30.0, 48.5, -123.0, -75.0), (25.5, 30.0, -100.0, -80.5), (58.0, 68.0, -160.0, -142.0)),
        (0, 3000),
        1000,
        "english",
        (88, 7, 3, 2),
        "glacial",
    ),
)
"""Countries of the sample, in alphabetical order, with how many lakes each gets."""


COLUMNS: tuple[tuple[str, pa.DataType, str], ...] = (
    ("lake_id", pa.int32(), "Unique number of the lake, 1 to the number of rows."),
    ("name", pa.string(), "Synthetic lake name in the style of the country's language."),
    ("country", pa.string(), "Country the lake lies in (English name)."),
    ("country_code", pa.string(), "ISO 3166-1 alpha-2 code of the country."),
    ("continent", pa.string(), "Continent of the country."),
    ("latitude", pa.float64(), "Latitude of the lake's centre, decimal degrees (WGS 84)."),
    ("longitude", pa.float64(), "Longitude of the lake's centre, decimal degrees (WGS 84)."),
    ("elevation_m", pa.int32(), "Surface elevation above sea level, metres."),
    ("area_km2", pa.float64(), "Surface area, square kilometres."),
    ("max_depth_m", pa.float64(), "Maximum depth, metres."),
    ("mean_depth_m", pa.float64(), "Mean depth, metres."),
    ("volume_km3", pa.float64(), "Water volume, cubic kilometres (area x mean depth)."),
    ("shoreline_km", pa.float64(), "Length of the shoreline, kilometres."),
    ("type", pa.string(), "Water type: " + ", ".join(WATER_TYPES) + "."),
    ("origin", pa.string(), "How the basin formed: " + ", ".join(ORIGINS) + "."),
    ("trophic_state", pa.string(), "Nutrient level: " + ", ".join(TROPHIC_STATES) + "."),
    ("ph", pa.float64(), "Typical surface-water pH."),
    ("ice_cover_days", pa.int16(), "Typical number of days per year with ice cover."),
    ("surveyed_on", pa.date32(), "Date of the (imaginary) last survey."),
)

_ORIGIN_BASE = {
    "glacial": 30,
    "tectonic": 8,
    "volcanic": 4,
    "fluvial": 20,
    "karst": 5,
    "coastal": 4,
    "artificial": 14,
}
_SALT_ORIGINS = ("tectonic", "volcanic", "fluvial", "karst")
_PH = {"freshwater": (7.1, 0.55), "saline": (8.4, 0.45), "brackish": (7.9, 0.3), "alkaline": (9.9, 0.4)}
_EPOCH = dt.date(1995, 1, 1)
_SURVEY_SPAN_DAYS = (dt.date(2024, 12, 31) - _EPOCH).days


def _clip(value: float, lo: float, hi: float) -> float:
    return min(hi, max(lo, value))


def _box_area(box: Box) -> float:
    south, north, west, east = box
    return (north - south) * (east - west) * math.cos(math.radians((south + north) / 2))


@dataclass(frozen=True)
class _Plan:
    """Per-country lookup tables, precomputed once for fast weighted choices."""

    country: Country
    boxes: tuple[float, ...]
    water: tuple[float, ...]
    origin: tuple[float, ...]
    trophic: tuple[float, ...]

    @classmethod
    def of(cls, c: Country) -> _Plan:
        origin = [w + (60 if name == c.origin else 0) for name, w in _ORIGIN_BASE.items()]
        return cls(
            country=c,
            boxes=cumulative([_box_area(b) for b in c.boxes]),
            water=cumulative(c.water),
            origin=cumulative(origin),
            trophic=cumulative(c.trophic),
        )


def _origin(rng: random.Random, plan: _Plan, water: str) -> str:
    if water == "brackish":
        return "coastal" if rng.random() < 0.8 else "fluvial"
    if water != "freshwater":
        return rng.choice(_SALT_ORIGINS) if rng.random() < 0.4 else "tectonic"
    return pick(rng, ORIGINS, plan.origin)


def _rows(seed: int) -> dict[str, list[object]]:
    rng = random.Random(seed)
    plans = [_Plan.of(c) for c in COUNTRIES]
    order = [plan for plan in plans for _ in range(plan.country.lakes)]
    rng.shuffle(order)
    taken: dict[str, set[str]] = {c.code: set() for c in COUNTRIES}
    cols: dict[str, list[object]] = {name: [] for name, _, _ in COLUMNS}
    for lake_id, plan in enumerate(order, start=1):
        c = plan.country
        water = pick(rng, WATER_TYPES, plan.water)
        origin = _origin(rng, plan, water)
        south, north, west, east = pick(rng, c.boxes, plan.boxes)
        lat = round(rng.uniform(south, north), 5)
        lon = round(rng.uniform(west, east), 5)
        lo, hi = c.elevation
        elevation = 0 if origin == "coastal" else round(lo + (hi - lo) * rng.random() ** 2.5)
        area = _clip(math.exp(rng.gauss(0.3 + c.area_shift, 1.5)), 0.012, 32000.0)
        depth_mu = math.log(7.0) + 0.28 * math.log(area) + c.depth_shift
        if origin == "tectonic":
            depth_mu += 0.7
        if water != "freshwater":
            depth_mu -= 0.9
        max_depth = _clip(math.exp(rng.gauss(depth_mu, 0.6)), 0.6, 1600.0)
        mean_depth = max_depth * rng.uniform(0.22, 0.55)
        shoreline = 2.0 * math.sqrt(math.pi * area) * rng.uniform(1.05, 3.8)
        ph_mu, ph_sigma = _PH[water]
        ice = (abs(lat) - 47.0) * 6.5 + elevation / 25.0 + rng.gauss(0.0, 12.0)

        cols["lake_id"].append(lake_id)
        cols["name"].append(unique_lake_name(rng, c.style, taken[c.code]))
        cols["country"].append(c.name)
        cols["country_code"].append(c.code)
        cols["continent"].append(c.continent)
        cols["latitude"].append(lat)
        cols["longitude"].append(lon)
        cols["elevation_m"].append(elevation)
        cols["area_km2"].append(round(area, 3))
        cols["max_depth_m"].append(round(max_depth, 1))
        cols["mean_depth_m"].append(round(mean_depth, 2))
        cols["volume_km3"].append(round(area * mean_depth / 1000.0, 6))
        cols["shoreline_km"].append(round(shoreline, 2))
        cols["type"].append(water)
        cols["origin"].append(origin)
        cols["trophic_state"].append(pick(rng, TROPHIC_STATES, plan.trophic))
        cols["ph"].append(round(_clip(rng.gauss(ph_mu, ph_sigma), 4.0, 11.5), 2))
        cols["ice_cover_days"].append(round(_clip(ice, 0.0, 330.0)))
        cols["surveyed_on"].append(_EPOCH + dt.timedelta(days=rng.randrange(_SURVEY_SPAN_DAYS)))
    return cols


def schema() -> pa.Schema:
    """The Arrow schema of the lakes table, with a description on every field."""
    fields = [
        pa.field(name, typ, nullable=False, metadata={"description": doc}) for name, typ, doc in COLUMNS
    ]
    return pa.schema(
        fields,
        metadata={
            "title": "Lakes of the world (synthetic sample data)",
            "source": f"Generated by Limnos from random seed {SEED}; not real measurements.",
        },
    )


@functools.cache
def lakes_table() -> pa.Table:
    """Return the lakes table (cached; identical on every call and every run)."""
    cols = _rows(SEED)
    sch = schema()
    arrays = [pa.array(cols[f.name], type=f.type) for f in sch]
    return pa.Table.from_arrays(arrays, schema=sch)


def row_count() -> int:
    """Total number of lakes in the table."""
    return sum(c.lakes for c in COUNTRIES)


def country_count(name: str) -> int:
    """Number of lakes of the country with the given English name."""
    return next(c.lakes for c in COUNTRIES if c.name == name)


@functools.cache
def lakes_parquet() -> bytes:
    """Return ``lakes.parquet``: the lakes table as deterministic, snappy-compressed Parquet."""
    sink = io.BytesIO()
    pq.write_table(
        lakes_table(),
        sink,
        row_group_size=4096,
        compression="snappy",
        use_dictionary=True,
        write_statistics=True,
        version="2.6",
        data_page_version="1.0",
    )
    return sink.getvalue()
