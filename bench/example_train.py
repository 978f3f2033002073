"""What bench/'s peers read from netc's examples: the train block of
examples/<model>.net (optimizer, seed, data files) and Fashion-MNIST IDX
files, with no framework imported (bench/train_torch.py, bench/train_jax.py).
"""
import argparse
import gzip
import os
import re
import struct
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS = ("mlp", "cnn", "lstm")


def load_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    zero, dtype, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype != 0x08:
        sys.exit(f"{path}: not an unsigned-byte IDX file")
    dims = struct.unpack(">" + "I" * ndim, raw[4 : 4 + 4 * ndim])
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def resolve(path, net_dir):
    """The data file `path` of a .net file in net_dir, as runtime/Dataset.cpp finds it."""
    dirs = ["", net_dir] + [d for d in os.environ.get("NETC_DATA", "").split(":") if d]
    for d in dirs + ["/usr/share/datasets"]:
        p = os.path.join(d, path)
        if os.path.isfile(p):
            return p
    sys.exit(f"{path}: not found (looked in ., {net_dir}, $NETC_DATA, /usr/share/datasets)")


def parse_value(text):
    text = text.strip()
    if text in ("true", "false"):
        return text == "true"
    return float(text)


def train_block(net_path):
    """The optimizer (name, kwargs), seed and data files of the .net file's train block."""
    with open(net_path) as f:
        src = f.read()
    block = re.search(r"^train\s+\w+\s*\{(.*?)^\}", src, re.S | re.M)
    if not block:
        sys.exit(f"{net_path}: no train block")
    body = re.sub(r"//[^\n]*", "", block.group(1))
    fields = dict(re.findall(r"^\s*(\w+)\s*=\s*(.+?)\s*$", body, re.M))
    for k in fields:
        if k not in ("data", "validate", "optimizer", "batch", "epochs", "seed"):
            sys.exit(f"{net_path}: the PyTorch peer does not mirror `{k}` of the train block")
    m = re.fullmatch(r"(\w+)\((.*)\)", fields["optimizer"])
    if not m:
        sys.exit(f"{net_path}: cannot read the optimizer `{fields['optimizer']}`")
    kwargs = {}
    for arg in filter(None, (a.strip() for a in m.group(2).split(","))):
        k, v = arg.split(":")
        kwargs[k.strip()] = parse_value(v)
    if "beta1" in kwargs or "beta2" in kwargs:
        kwargs["betas"] = (kwargs.pop("beta1", 0.9), kwargs.pop("beta2", 0.999))
    net_dir = os.path.dirname(net_path)
    files = {k: [resolve(p, net_dir) for p in re.findall(r'"([^"]+)"', fields[k])]
             for k in ("data", "validate")}
    return m.group(1), kwargs, int(fields.get("seed", 0)), files


OPTIMIZERS = {"sgd": "SGD", "rmsprop": "RMSprop", "adam": "Adam", "adamw": "AdamW",
              "adagrad": "Adagrad", "adadelta": "Adadelta"}


def peer_args(doc, extra=None):
    """The command line every peer takes (bench/train.py passes it); `extra`,
    if given, adds a peer's own flags to the parser."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", choices=MODELS, required=True)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, help="default: the train block's")
    ap.add_argument("--limit", type=int, default=0, help="use the first N training images")
    ap.add_argument("--validate-limit", type=int, default=0, help="use the first N held-out images")
    if extra:
        extra(ap)
    return ap.parse_args()
