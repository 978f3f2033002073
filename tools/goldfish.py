#!/usr/bin/python3
"""The goldfish-memory task of issue 4: does a recurrent net remember the
first element of a sequence?

Each example is a sequence of LENGTH steps of one feature, every element
drawn uniformly from [LOW, HIGH] (default [0, 32]); the label is 1 when the
FIRST element is above the middle of that range (16), else 0. Everything
after step 0 is noise that has nothing to do with the label, so a model must
carry one bit through LENGTH - 1 updates of its state.

Why the large, positive inputs: the point of the lecture is that a vanilla
(tanh) RNN cannot learn this and an LSTM can. With netc's initialisation
(glorot_uniform W and U, zero biases) a tanh RNN fed small inputs (the first
version of this task: [-1, 1], 50 steps) sits near the edge of chaos, its
gradient through time does not vanish and it learns the task; the LSTM, whose
forget gates start at sigmoid(1) = 0.73, took 12 epochs to (PyTorch). Inputs
up to 32 drive the tanh units into saturation, where tanh' ~ 0, so the RNN's
gradient from the last step back to step 0 vanishes (at initialisation
|dh_T/dx_0| is ~4e-9 of |dh_T/dx_T| over 20 steps) and it stays at chance.
The LSTM's cell state is updated linearly, c_t = f c_{t-1} + i g, so
saturated gates do not cut that path (the same ratio is ~3e-2); positive
inputs even push the forget gates of the units with a positive input weight
towards 1. docs/recurrence.md has the figures.

Writes, into OUT_DIR, IDX files (docs/data.md): f32 sequences [n, LENGTH, 1]
and u8 labels [n]:
    train-seq.idx  train-labels.idx   (--train examples)
    test-seq.idx   test-labels.idx    (--test examples)
Usage: tools/goldfish.py OUT_DIR [--length 20] [--low 0] [--high 32]
                         [--train 4000] [--test 1000] [--seed 1]
examples/goldfish_rnn.net and examples/goldfish_lstm.net read them from a
`goldfish/` directory on the data path (e.g. NETC_DATA=<parent of OUT_DIR>).
`--low -1 --high 1 --length 50` gives the first version of the task.

With --torch rnn|lstm (needs PyTorch) it then trains a PyTorch model that
mirrors the example of that name layer by layer (frontend/Layers.cpp: gates
i, f, g, o; the forget gate's pre-activation + 1 as a constant; glorot_uniform
W [features, gates*units] and U [units, gates*units], zero biases; dense(2)
with glorot_uniform weight and zero bias; softmax cross-entropy) with the
examples' training settings (adam(lr: 0.005), clip_norm = 1, cosine schedule
over all steps, batch 32, 10 epochs, a new shuffle every epoch; --torch-seed
seeds the initialisation and the shuffles, --epochs, --lr change those) and
prints the held-out accuracy after each epoch.
"""
import argparse
import math
import os
import struct

import numpy as np


def write_idx(path, array, type_code):
    with open(path, "wb") as f:
        f.write(struct.pack(">BBBB", 0, 0, type_code, array.ndim))
        for d in array.shape:
            f.write(struct.pack(">I", d))
        f.write(array.tobytes())


def make(rng, n, length, low, high):
    seq = rng.uniform(low, high, size=(n, length, 1)).astype(">f4")
    labels = (seq[:, 0, 0] > (low + high) / 2).astype(np.uint8)
    return seq, labels


def torch_mirror(kind, data, units, epochs, lr, batch, clip, seed):
    """Trains the PyTorch mirror of examples/goldfish_<kind>.net; returns the
    held-out accuracy (%) after each epoch."""
    import torch

    torch.set_num_threads(1)
    torch.manual_seed(seed)
    (xtr, ytr), (xte, yte) = [(torch.tensor(s.astype(np.float32)), torch.tensor(l.astype(np.int64)))
                              for s, l in data]

    def glorot(w, fan_in, fan_out):
        limit = math.sqrt(6.0 / (fan_in + fan_out))
        with torch.no_grad():
            w.uniform_(-limit, limit)

    gates, cls = (4, torch.nn.LSTM) if kind == "lstm" else (1, torch.nn.RNN)
    features = xtr.shape[2]
    cell = cls(features, units, batch_first=True)
    # torch keeps W and U transposed ([gates*units, in]); the bound is symmetric.
    glorot(cell.weight_ih_l0, features, gates * units)
    glorot(cell.weight_hh_l0, units, gates * units)
    with torch.no_grad():
        cell.bias_ih_l0.zero_()  # netc's b
        cell.bias_hh_l0.zero_()  # frozen: the forget gate's constant + 1
        if kind == "lstm":
            cell.bias_hh_l0[units:2 * units] = 1.0
    cell.bias_hh_l0.requires_grad_(False)
    dense = torch.nn.Linear(units, 2)
    glorot(dense.weight, units, 2)
    with torch.no_grad():
        dense.bias.zero_()

    def logits(x):
        return dense(cell(x)[0][:, -1])

    params = [p for p in list(cell.parameters()) + list(dense.parameters()) if p.requires_grad]
    opt = torch.optim.Adam(params, lr=lr)
    steps = epochs * math.ceil(len(xtr) / batch)
    # netc's cosine(steps: S): the update after s steps uses lr (1 + cos(pi min(s, S)/S)) / 2.
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: (1 + math.cos(math.pi * min(s, steps) / steps)) / 2)
    shuffle = torch.Generator()
    shuffle.manual_seed(seed)
    accuracies = []
    for _ in range(epochs):
        order = torch.randperm(len(xtr), generator=shuffle)
        for begin in range(0, len(xtr), batch):
            idx = order[begin:begin + batch]
            loss = torch.nn.functional.cross_entropy(logits(xtr[idx]), ytr[idx])
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, clip)
            opt.step()
            sched.step()
        with torch.no_grad():
            accuracies.append(100.0 * (logits(xte).argmax(1) == yte).float().mean().item())
    return accuracies


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("out_dir")
    p.add_argument("--length", type=int, default=20)
    p.add_argument("--low", type=float, default=0.0)
    p.add_argument("--high", type=float, default=32.0)
    p.add_argument("--train", type=int, default=4000)
    p.add_argument("--test", type=int, default=1000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--torch", choices=("rnn", "lstm"),
                   help="then train the PyTorch mirror of examples/goldfish_<model>.net")
    p.add_argument("--torch-seed", type=int, default=1)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--lr", type=float, default=0.005)
    a = p.parse_args()
    if a.length < 1 or a.train < 1 or a.test < 1:
        p.error("length, train and test must be positive")
    if not a.low < a.high:
        p.error("low must be below high")
    if a.epochs < 1 or a.lr <= 0:
        p.error("epochs and lr must be positive")
    os.makedirs(a.out_dir, exist_ok=True)
    rng = np.random.default_rng(a.seed)
    data = []
    for name, n in (("train", a.train), ("test", a.test)):
        seq, labels = make(rng, n, a.length, a.low, a.high)
        write_idx(os.path.join(a.out_dir, name + "-seq.idx"), seq, 0x0D)
        write_idx(os.path.join(a.out_dir, name + "-labels.idx"), labels, 0x08)
        data.append((seq, labels))
    if a.torch:
        accuracies = torch_mirror(a.torch, data, units=32, epochs=a.epochs, lr=a.lr, batch=32,
                                  clip=1.0, seed=a.torch_seed)
        print(f"torch {a.torch}(32) seed {a.torch_seed}, held-out accuracy per epoch: "
              + ", ".join(f"{v:.1f}" for v in accuracies))


if __name__ == "__main__":
    main()
