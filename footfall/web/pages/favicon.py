"""``GET /favicon.ico``: footfall's icon, drawn here so that no image file or other host is needed.

The icon is three rising bars on a rounded square of the accent colour, 32 by 32 pixels,
encoded as a PNG inside an ICO container (every browser reads that form). It is built once,
from code, and served with a day of caching.
"""

from __future__ import annotations

import functools
import struct
import zlib

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

SIZE = 32
_ACCENT = (0x0A, 0x58, 0xCA, 0xFF)  # --accent in footfall.css
_WHITE = (0xFF, 0xFF, 0xFF, 0xFF)
_CLEAR = (0, 0, 0, 0)
_RADIUS = 6
# Each bar: its left and right column (inclusive) and its top row; all end at row 25.
_BARS = ((7, 11, 17), (14, 18, 11), (21, 25, 6))
_BARS_BOTTOM = 25


def _pixel(x: int, y: int) -> tuple[int, int, int, int]:
    # Outside the rounded corners: transparent.
    cx = min(max(x, _RADIUS), SIZE - 1 - _RADIUS)
    cy = min(max(y, _RADIUS), SIZE - 1 - _RADIUS)
    if (x - cx) ** 2 + (y - cy) ** 2 > _RADIUS**2:
        return _CLEAR
    for left, right, top in _BARS:
        if left <= x <= right and top <= y <= _BARS_BOTTOM:
            return _WHITE
    return _ACCENT


def _chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


def png() -> bytes:
    """The icon as a PNG (8-bit RGBA)."""
    rows = b"".join(
        b"\x00" + bytes(channel for x in range(SIZE) for channel in _pixel(x, y))
        for y in range(SIZE)
    )
    header = struct.pack(">IIBBBBB", SIZE, SIZE, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(rows, 9))
        + _chunk(b"IEND", b"")
    )


@functools.cache
def ico() -> bytes:
    """The icon in an ICO container holding the one PNG image."""
    image = png()
    directory = struct.pack("<HHH", 0, 1, 1)  # reserved, type 1 (icon), one image
    entry = struct.pack("<BBBBHHII", SIZE, SIZE, 0, 0, 1, 32, len(image), 6 + 16)
    return directory + entry + image


async def favicon(request: Request) -> Response:
    """GET /favicon.ico: the icon, cached for a day by browsers and proxies."""
    return Response(
        ico(),
        media_type="image/x-icon",
        headers={"Cache-Control": "public, max-age=86400"},
    )


ROUTES = [Route("/favicon.ico", favicon, methods=["GET"])]
