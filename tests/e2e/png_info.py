#!/usr/bin/env python3
"""Reads a PNG back and prints "WIDTH HEIGHT CHANNELS", or exits 1 saying why.

Checks what a viewer would: the signature, every chunk's CRC, an IHDR for
8-bit grey, RGB or RGBA without interlacing, IDAT data that inflates to
exactly one filter byte plus one row of pixels per row, with valid filter
types, and IEND. Used by the e2e scripts on the trainer's pictures.
usage: png_info.py FILE.png
"""
import struct
import sys
import zlib

CHANNELS = {0: 1, 2: 3, 6: 4}


def info(path):
    raw = open(path, "rb").read()
    if raw[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG (bad signature)")
    pos, chunks = 8, []
    while pos < len(raw):
        n, kind = struct.unpack(">I4s", raw[pos:pos + 8])
        data = raw[pos + 8:pos + 8 + n]
        crc = struct.unpack(">I", raw[pos + 8 + n:pos + 12 + n])[0]
        if zlib.crc32(kind + data) != crc:
            raise ValueError(f"bad CRC in chunk {kind!r}")
        chunks.append((kind, data))
        pos += 12 + n
    if not chunks or chunks[0][0] != b"IHDR" or chunks[-1][0] != b"IEND":
        raise ValueError("chunks must start with IHDR and end with IEND")
    w, h, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    if depth != 8 or color not in CHANNELS or interlace != 0:
        raise ValueError(f"unexpected depth {depth}, colour type {color}, interlace {interlace}")
    c = CHANNELS[color]
    pixels = zlib.decompress(b"".join(d for k, d in chunks if k == b"IDAT"))
    if len(pixels) != h * (1 + w * c):
        raise ValueError(f"IDAT holds {len(pixels)} bytes, expected {h * (1 + w * c)}")
    if any(pixels[r * (1 + w * c)] > 4 for r in range(h)):
        raise ValueError("a row has an unknown filter type")
    return w, h, c


if __name__ == "__main__":
    try:
        print(*info(sys.argv[1]))
    except (OSError, ValueError, zlib.error, struct.error) as e:
        print(f"{sys.argv[1]}: {e}", file=sys.stderr)
        sys.exit(1)
