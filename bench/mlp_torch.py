#!/usr/bin/env python3
"""The PyTorch peer of examples/mlp.net, for bench/mlp.sh.

Same model (784 -> dense 512, relu -> dense 10, softmax cross-entropy), same
initialisation (Glorot-uniform weights, zero biases), same data (Debian's
dataset-fashion-mnist, pixels scaled to [0, 1]), same optimizer (SGD lr 0.1,
momentum 0.9), batch and thread count. Prints one JSON line per epoch.

Run with Debian's Python (/usr/bin/python3, python3-torch). For a fair peer,
unset OPENBLAS_CORETYPE and prefer the OpenMP OpenBLAS (bench/mlp.sh does).
"""
import argparse
import gzip
import json
import struct
import sys
import time

import numpy as np
import torch
from torch import nn

DATA = "/usr/share/datasets/fashion-mnist/"


def load_idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    zero, dtype, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype != 0x08:
        sys.exit(f"{path}: not an unsigned-byte IDX file")
    dims = struct.unpack(">" + "I" * ndim, raw[4 : 4 + 4 * ndim])
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--momentum", type=float, default=0.9)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--limit", type=int, default=0, help="use the first N training images")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    x = torch.from_numpy(load_idx(DATA + "train-images-idx3-ubyte.gz").astype(np.float32) / 255.0)
    y = torch.from_numpy(load_idx(DATA + "train-labels-idx1-ubyte.gz").astype(np.int64))
    if args.limit:
        x, y = x[: args.limit], y[: args.limit]
    tx = torch.from_numpy(load_idx(DATA + "t10k-images-idx3-ubyte.gz").astype(np.float32) / 255.0)
    ty = torch.from_numpy(load_idx(DATA + "t10k-labels-idx1-ubyte.gz").astype(np.int64))

    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 10))
    for m in model:
        if isinstance(m, nn.Linear):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum)
    loss_fn = nn.CrossEntropyLoss()
    n = x.shape[0]
    for epoch in range(args.epochs):
        model.train()
        order = torch.randperm(n)
        t0 = time.perf_counter()
        total = 0.0
        for i in range(0, n, args.batch):
            idx = order[i : i + args.batch]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        secs = time.perf_counter() - t0
        model.eval()
        with torch.no_grad():
            acc = (model(tx).argmax(1) == ty).float().mean().item()
        print(json.dumps({"peer": "pytorch", "epoch": epoch + 1, "threads": args.threads,
                          "batch": args.batch, "train_loss": total / n,
                          "accuracy": acc, "seconds": secs, "samples_per_s": n / secs}),
              flush=True)


if __name__ == "__main__":
    main()
