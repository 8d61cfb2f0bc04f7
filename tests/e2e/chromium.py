"""Headless Chromium (Debian's `chromium`) for the tests that a page Postgate writes
renders: the page is loaded from its file with no network, drawn into a PNG, and the
PNG's pixels are read back here (a small decoder: 8-bit RGB or RGBA, not interlaced)."""

from __future__ import annotations

import shutil
import struct
import subprocess
import zlib
from pathlib import Path

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _run(page: Path, work: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
         "--hide-scrollbars", f"--user-data-dir={work / 'chromium-profile'}", *args, page.resolve().as_uri()],
        capture_output=True, timeout=120, stdin=subprocess.DEVNULL, cwd=work)


def dom(page: Path, work: Path) -> str:
    """The document as Chromium parsed it."""
    done = _run(page, work, "--dump-dom")
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    return done.stdout.decode()


def screenshot(page: Path, work: Path, size: tuple[int, int] = (1000, 900)) -> list[list[tuple[int, int, int]]]:
    """The page drawn at `size`: rows of (r, g, b) pixels."""
    out = work / (page.stem + ".png")
    done = _run(page, work, f"--screenshot={out}", f"--window-size={size[0]},{size[1]}")
    assert done.returncode == 0 and out.exists(), done.stderr.decode(errors="replace")
    return decode_png(out.read_bytes())


def decode_png(data: bytes) -> list[list[tuple[int, int, int]]]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
    width, height, depth, colour, _, _, interlace = header
    assert depth == 8 and colour in (2, 6) and interlace == 0, f"unsupported PNG {header}"
    channels = 3 if colour == 2 else 4
    stride = width * channels
    raw = zlib.decompress(idat)
    rows, previous = [], bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = previous[i]
            upper_left = previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - upper_left
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - upper_left)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else upper_left)) & 0xFF
        rows.append([tuple(line[x * channels:x * channels + 3]) for x in range(width)])
        previous = line
    return rows


def count(pixels: list[list[tuple[int, int, int]]], colour: str) -> int:
    """How many pixels have exactly `colour` (#rrggbb)."""
    wanted = tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return sum(row.count(wanted) for row in pixels)
