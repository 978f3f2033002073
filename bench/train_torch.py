#!/usr/bin/env python3
"""The PyTorch peers of examples/{mlp,cnn,lstm}.net, for bench/train.py.

Each peer is built as frontend/Layers.cpp builds the example:

  mlp   flatten -> dense(512) -> relu -> dense(10)
  cnn   conv2d(32, 3) -> relu -> max_pool(2) -> conv2d(64, 3) -> relu ->
        max_pool(2) -> flatten -> dense(10)  (valid padding, stride 1)
  lstm  lstm(128) over the 28 rows of the image (28 steps of 28 pixels),
        its last h -> dense(10)

with netc's initialisation (ir/Init.h): dense and lstm weights
glorot_uniform, conv kernels he_uniform (U(-sqrt(6/fan_in), +...), fan_in =
3*3*channels in), every bias zero. The LSTM's gates are i, f, g, o and its
forget gate's pre-activation is offset by a constant 1: nn.LSTM's bias_ih is
netc's (trainable, zero) b and its bias_hh is frozen at 1 on the forget
slice, 0 elsewhere. netc's convolutions are NHWC and torch's NCHW, so the
dense layer after the flatten sees the same features in another order (a
permutation of its rows: the same model, the same initial distribution).

The loss is softmax cross-entropy; the optimizer, its arguments and the seed
are read from the `train` block of examples/<model>.net (netc's optimizers
take PyTorch's names and defaults, docs/language.md; beta1/beta2 become
betas), and so are the data files: Fashion-MNIST IDX files, resolved as netc
resolves them (the .net file's directory, $NETC_DATA, /usr/share/datasets),
pixels scaled to [0, 1]. A train block this script cannot mirror
(schedule, clip, augment) is refused.

Each epoch reshuffles and times the training steps only (gathering the
batch, forward, backward, optimizer step, reading the loss); the held-out
evaluation after it is not timed. Prints one JSON line per epoch.

Run with Debian's Python (/usr/bin/python3, python3-torch); bench/train.py
chooses the BLAS and OPENBLAS_CORETYPE (see its docstring).

usage: bench/train_torch.py --model mlp|cnn|lstm [--epochs 1] [--batch 64]
       [--threads 1] [--limit N] [--validate-limit N]
"""
import json
import os
import sys
import time

import numpy as np
import torch
from torch import nn

from example_train import OPTIMIZERS, ROOT, load_idx, peer_args, train_block


def glorot_(w):
    """glorot_uniform: torch's xavier_uniform_ reads the same fans from a
    transposed weight ([out, in] or [gates*units, in])."""
    nn.init.xavier_uniform_(w)


class Mlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(784, 512), nn.Linear(512, 10)
        for fc in (self.fc1, self.fc2):
            glorot_(fc.weight)
            nn.init.zeros_(fc.bias)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x.flatten(1))))


class Cnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(1, 32, 3), nn.Conv2d(32, 64, 3)
        self.fc = nn.Linear(5 * 5 * 64, 10)
        for conv in (self.conv1, self.conv2):
            # he_uniform: U(-sqrt(6/fan_in), +...), fan_in = 3*3*channels in.
            nn.init.kaiming_uniform_(conv.weight, nonlinearity="relu")
            nn.init.zeros_(conv.bias)
        glorot_(self.fc.weight)
        nn.init.zeros_(self.fc.bias)

    def forward(self, x):
        h = torch.max_pool2d(torch.relu(self.conv1(x.unsqueeze(1))), 2)
        h = torch.max_pool2d(torch.relu(self.conv2(h)), 2)
        return self.fc(h.flatten(1))


class Lstm(nn.Module):
    def __init__(self, units=128):
        super().__init__()
        self.cell = nn.LSTM(28, units, batch_first=True)
        self.fc = nn.Linear(units, 10)
        glorot_(self.cell.weight_ih_l0)
        glorot_(self.cell.weight_hh_l0)
        with torch.no_grad():
            self.cell.bias_ih_l0.zero_()  # netc's b
            self.cell.bias_hh_l0.zero_()  # frozen: the forget gate's constant + 1
            self.cell.bias_hh_l0[units : 2 * units] = 1.0
        self.cell.bias_hh_l0.requires_grad_(False)
        glorot_(self.fc.weight)
        nn.init.zeros_(self.fc.bias)

    def forward(self, x):
        return self.fc(self.cell(x)[0][:, -1])


def main():
    args = peer_args(__doc__)

    name, kwargs, seed, files = train_block(os.path.join(ROOT, "examples", args.model + ".net"))
    if name not in OPTIMIZERS:
        sys.exit(f"examples/{args.model}.net: no PyTorch peer for the optimizer {name}")
    torch.set_num_threads(args.threads)
    torch.manual_seed(seed if args.seed is None else args.seed)

    def load(pair, limit):
        x, y = load_idx(pair[0]), load_idx(pair[1])
        if limit:
            x, y = x[:limit], y[:limit]
        return torch.from_numpy(x.astype(np.float32) / 255.0), torch.from_numpy(y.astype(np.int64))

    x, y = load(files["data"], args.limit)
    tx, ty = load(files["validate"], args.validate_limit)
    model = {"mlp": Mlp, "cnn": Cnn, "lstm": Lstm}[args.model]()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = getattr(torch.optim, OPTIMIZERS[name])(params, **kwargs)
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
            correct = sum((model(tx[i : i + 1000]).argmax(1) == ty[i : i + 1000]).sum().item()
                          for i in range(0, len(tx), 1000))
        print(json.dumps({"peer": "pytorch", "model": args.model, "epoch": epoch + 1,
                          "threads": args.threads, "batch": args.batch, "train_loss": total / n,
                          "accuracy": correct / len(tx), "seconds": secs,
                          "samples_per_s": n / secs}),
              flush=True)


if __name__ == "__main__":
    main()
