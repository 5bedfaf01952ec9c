"""The pictures under ``images/``, drawn from the lakes table with the encoder in ``png.py``."""

from __future__ import annotations

import math
from collections import Counter

import pyarrow as pa

from .lakes import COUNTRIES, lakes_table
from .png import Canvas, Color, gradient, mix, text_width

PNG_TEXT = {"Software": "Limnos sample data generator"}

# Shallow to deep: pale cyan, blue, deep indigo.
DEPTH_STOPS: list[Color] = [(190, 250, 240), (70, 200, 225), (30, 120, 210), (60, 50, 170), (120, 30, 140)]
CONTINENT_COLORS: dict[str, Color] = {
    "Africa": (226, 146, 60),
    "Asia": (214, 84, 84),
    "Europe": (58, 120, 200),
    "North America": (70, 160, 110),
    "Oceania": (150, 100, 190),
    "South America": (200, 170, 40),
}
INK: Color = (40, 48, 60)
WHITE: Color = (255, 255, 255)


def _floats(table: pa.Table, name: str) -> list[float]:
    return [float(v) for v in table.column(name).to_pylist()]


def _strs(table: pa.Table, name: str) -> list[str]:
    return [str(v) for v in table.column(name).to_pylist()]


def _depth_t(depth: float, deepest: float = 150.0) -> float:
    return math.log1p(depth) / math.log1p(deepest)


def _depth_legend(c: Canvas, x: int, y: int, width: int, fg: Color) -> None:
    """Draw a horizontal depth colour bar with labels below it."""
    for i in range(width):
        c.vline(x + i, y, y + 8, gradient(DEPTH_STOPS, i / (width - 1)))
    for depth in (0, 10, 50, 150):
        px = x + round(_depth_t(depth) * (width - 1))
        c.vline(px, y + 9, y + 11, fg)
        label = f"{depth}M" if depth < 150 else "150M+"
        c.text(px - text_width(label) // 2, y + 14, label, fg)


def world_map() -> bytes:
    """Every lake on an equirectangular world map, coloured by maximum depth."""
    table = lakes_table()
    w, h = 720, 400
    top = 20  # map area is 720 x 360 below a title line
    c = Canvas(w, h, (14, 24, 44))
    grid = (34, 50, 78)
    for meridian in range(-180, 181, 30):
        c.vline(min(w - 1, (meridian + 180) * 2), top, top + 359, grid)
    for parallel in range(-90, 91, 30):
        c.hline(0, w - 1, top + min(359, (90 - parallel) * 2), grid)
    c.hline(0, w - 1, top + 180, (50, 72, 108))  # equator
    rows = sorted(
        zip(
            _floats(table, "max_depth_m"),
            _floats(table, "latitude"),
            _floats(table, "longitude"),
            strict=True,
        ),
        key=lambda r: r[0],  # deep lakes are drawn last, on top
    )
    for depth, lat, lon in rows:
        x = (lon + 180.0) * 2.0
        y = top + (90.0 - lat) * 2.0
        c.circle(x, y, 1.6, gradient(DEPTH_STOPS, _depth_t(depth)))
    c.text(8, 6, f"{table.num_rows} LAKES BY MAXIMUM DEPTH (SYNTHETIC)", (220, 230, 245))
    _depth_legend(c, 16, top + 300, 200, (220, 230, 245))
    return c.to_png(PNG_TEXT | {"Title": "Lakes by maximum depth"})


def country_bars() -> bytes:
    """Horizontal bar chart: number of lakes per country, coloured by continent."""
    table = lakes_table()
    counts = Counter(_strs(table, "country"))
    continent = {co.name: co.continent for co in COUNTRIES}
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    bar_h, gap = 14, 6
    left, right_pad, top = 130, 60, 40
    w = 640
    h = top + len(ranked) * (bar_h + gap) + 50
    c = Canvas(w, h, WHITE)
    c.text(12, 12, "LAKES PER COUNTRY", INK, scale=2)
    most = max(counts.values())
    span = w - left - right_pad
    for step in range(0, most + 1, 250):
        x = left + round(step / most * span)
        c.vline(x, top - 4, h - 44, (228, 232, 238))
        c.text(x - text_width(str(step)) // 2, h - 40, str(step), INK)
    for i, (name, n) in enumerate(ranked):
        y = top + i * (bar_h + gap)
        label = name.upper()
        c.text(left - 8 - text_width(label), y + 4, label, INK)
        end = left + max(1, round(n / most * span))
        c.rect(left, y, end, y + bar_h, CONTINENT_COLORS[continent[name]])
        c.text(end + 5, y + 4, str(n), INK)
    legend_x = 12
    for cont, color in CONTINENT_COLORS.items():
        c.rect(legend_x, h - 20, legend_x + 10, h - 10, color)
        legend_x = c.text(legend_x + 14, h - 19, cont, INK) + 10
    return c.to_png(PNG_TEXT | {"Title": "Lakes per country"})


def denmark_map() -> bytes:
    """Danish lakes: position, size (by area) and colour (by maximum depth)."""
    table = lakes_table()
    south, north, west, east = 54.5, 57.8, 7.9, 12.9
    kx = math.cos(math.radians((south + north) / 2))
    scale = 130.0  # pixels per degree of latitude
    pad_top, pad = 40, 16
    w = round((east - west) * kx * scale) + 2 * pad
    h = round((north - south) * scale) + pad_top + 60
    c = Canvas(w, h, (236, 242, 236))
    land: Color = (214, 226, 206)
    c.rect(pad, pad_top, w - pad, pad_top + round((north - south) * scale), land)
    for lat10 in range(550, 580, 5):
        c.hline(pad, w - pad - 1, pad_top + round((north - lat10 / 10) * scale), mix(land, INK, 0.12))
    for meridian in range(8, 13):
        c.vline(
            pad + round((meridian - west) * kx * scale),
            pad_top,
            pad_top + round((north - south) * scale) - 1,
            mix(land, INK, 0.12),
        )
    rows = [
        r[1:]
        for r in zip(
            _strs(table, "country"),
            _floats(table, "area_km2"),
            _floats(table, "max_depth_m"),
            _floats(table, "latitude"),
            _floats(table, "longitude"),
            strict=True,
        )
        if r[0] == "Denmark"
    ]
    rows.sort(key=lambda r: -r[0])  # big lakes first, small ones stay visible on top
    for area, depth, lat, lon in rows:
        fx = pad + (lon - west) * kx * scale
        fy = pad_top + (north - lat) * scale
        radius = 1.5 + 2.2 * math.sqrt(area)
        c.circle(fx, fy, radius + 1, mix(land, INK, 0.5))
        c.circle(fx, fy, radius, gradient(DEPTH_STOPS, _depth_t(depth, 30.0)))
    c.text(pad, 14, f"DENMARK: {len(rows)} LAKES", INK, scale=2)
    legend_y = h - 44
    width = min(200, w - 2 * pad)
    for i in range(width):
        c.vline(pad + i, legend_y, legend_y + 8, gradient(DEPTH_STOPS, i / (width - 1)))
    for depth in (0, 5, 30):
        px = pad + round(_depth_t(depth, 30.0) * (width - 1))
        label = f"{depth}M" if depth < 30 else "30M+"
        c.text(
            max(pad, min(w - pad - text_width(label), px - text_width(label) // 2)), legend_y + 13, label, INK
        )
    c.text(pad, legend_y + 26, "MAX DEPTH - CIRCLE SIZE: AREA", INK)
    return c.to_png(PNG_TEXT | {"Title": "Lakes of Denmark"})


def logo() -> bytes:
    """The Limnos logo: mountains over a lake, with a branch that leaves and merges back."""
    size = 256
    c = Canvas(size, size, WHITE)
    cx, cy, radius = 128.0, 112.0, 100.0
    sky_top: Color = (120, 190, 240)
    sky_low: Color = (214, 238, 250)
    for y in range(size):
        t = (y + 0.5 - cy) / radius
        if abs(t) >= 1.0:
            continue
        half = radius * math.sqrt(1.0 - t * t)
        x0, x1 = round(cx - half), round(cx + half)
        if y < 118:
            c.rect(x0, y, x1, y + 1, mix(sky_top, sky_low, (y - 12) / 106))
            for x in range(x0, x1):  # two snowy peaks
                peak = min(abs(x - 92) * 1.1 + 46, abs(x - 156) * 0.9 + 62)
                if y >= peak:
                    snow = y < peak + 10 and peak < 70
                    c.set(x, y, (245, 248, 252) if snow else (70, 96, 120))
        else:
            c.rect(x0, y, x1, y + 1, mix((40, 130, 200), (16, 60, 130), (y - 118) / 94))
    # The version graph on the water: main line, a branch that leaves and merges back.
    main_y, branch_y = 168, 140
    white, accent = (250, 252, 255), (255, 196, 60)
    c.line(52, main_y, 204, main_y, white, width=4)
    c.line(84, main_y, 108, branch_y, accent, width=4)
    c.line(108, branch_y, 148, branch_y, accent, width=4)
    c.line(148, branch_y, 172, main_y, accent, width=4)
    for x in (60, 84, 128, 172, 196):
        c.circle(x, main_y, 7, white)
        c.circle(x, main_y, 4, (16, 60, 130))
    for x in (108, 148):
        c.circle(x, branch_y, 7, accent)
    label = "LIMNOS"
    c.text((size - text_width(label, 4)) // 2, 222, label, (16, 60, 130), scale=4)
    return c.to_png(PNG_TEXT | {"Title": "Limnos"})
