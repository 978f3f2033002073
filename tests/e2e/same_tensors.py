#!/usr/bin/env python3
"""Exits 0 when two safetensors checkpoints hold the same tensors, bit for bit.

Metadata (epoch, step, checksum) is ignored: it says where a run stopped, not
what it learned. Used by the e2e scripts to compare resumed and uninterrupted
runs. usage: same_tensors.py A.safetensors B.safetensors
"""
import json
import struct
import sys


def tensors(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    header.pop("__metadata__", None)
    return {k: raw[8 + n + v["data_offsets"][0]: 8 + n + v["data_offsets"][1]]
            for k, v in header.items()}


a, b = tensors(sys.argv[1]), tensors(sys.argv[2])
bad = sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))
print("tensors compared:", len(a), "differing:", bad)
sys.exit(1 if bad else 0)
