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

--compile (PyTorch 2 only) is the compiled peer a user of PyTorch 2 would
try: the model under torch.compile (TorchInductor's C++/OpenMP CPU code)
and the optimizer's step under torch.compile, as PyTorch's own recipes do;
the backward pass is the compiled graph's AOTAutograd backward. Compilation
is not timed: before the first epoch the step runs on every batch shape the
epoch will see (the full batch and a shorter last one), then the parameters,
the optimizer's state and the random generator are put back as they were
(optimizer state tensors zeroed, which is the state every optimizer here
starts from), so the timed epochs train from the same start as without
--compile. The JSON lines then also carry "compile_seconds".

usage: bench/train_torch.py --model mlp|cnn|lstm [--epochs 1] [--batch 64]
       [--threads 1] [--limit N] [--validate-limit N] [--compile]
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


def make_step(forward, opt_step, opt, loss_fn):
    """The train step over `forward` (the model, or its compiled form) and
    `opt_step`: step(x, y) -> loss."""
    def step(xb, yb):
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(forward(xb), yb)
        loss.backward()
        opt_step()
        return loss

    return step


def compile_step(model, opt, loss_fn):
    """The train step with the model and the optimizer's step under
    torch.compile."""
    if not hasattr(torch, "compile"):
        sys.exit(f"--compile needs PyTorch 2 (this is {torch.__version__})")

    @torch.compile(fullgraph=False)
    def opt_step():
        opt.step()

    return make_step(torch.compile(model), opt_step, opt, loss_fn)


def warm_up(step, model, opt, x, y, shapes):
    """Runs `step` on each batch size in `shapes` (so that compilation happens
    here, untimed), then restores the parameters and the random generator
    and zeroes the optimizer's state tensors. Returns the seconds it took."""
    t0 = time.perf_counter()
    params = [p.detach().clone() for p in model.parameters()]
    rng = torch.get_rng_state()
    for b in shapes:
        for _ in range(2):
            step(x[:b], y[:b]).item()
    with torch.no_grad():
        for p, saved in zip(model.parameters(), params):
            p.copy_(saved)
        for state in opt.state.values():
            for v in state.values():
                if torch.is_tensor(v):
                    v.zero_()
    torch.set_rng_state(rng)
    return time.perf_counter() - t0


def main():
    args = peer_args(__doc__, lambda ap: ap.add_argument(
        "--compile", action="store_true", help="torch.compile the model and the optimizer step"))

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
    extra = {}
    if args.compile:
        step = compile_step(model, opt, loss_fn)
        shapes = sorted({min(args.batch, n), n % args.batch} - {0})
        extra = {"compile_seconds": warm_up(step, model, opt, x, y, shapes)}
    else:
        step = make_step(model, opt.step, opt, loss_fn)
    for epoch in range(args.epochs):
        model.train()
        order = torch.randperm(n)
        t0 = time.perf_counter()
        total = 0.0
        for i in range(0, n, args.batch):
            idx = order[i : i + args.batch]
            total += step(x[idx], y[idx]).item() * len(idx)
        secs = time.perf_counter() - t0
        # The held-out evaluation (untimed) runs the eager model, which shares
        # the compiled one's parameters.
        model.eval()
        with torch.no_grad():
            correct = sum((model(tx[i : i + 1000]).argmax(1) == ty[i : i + 1000]).sum().item()
                          for i in range(0, len(tx), 1000))
        print(json.dumps({"peer": "pytorch-compile" if args.compile else "pytorch",
                          "model": args.model, "epoch": epoch + 1,
                          "threads": args.threads, "batch": args.batch, "train_loss": total / n,
                          "accuracy": correct / len(tx), "seconds": secs,
                          "samples_per_s": n / secs, **extra}),
              flush=True)


if __name__ == "__main__":
    main()
