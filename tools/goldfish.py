#!/usr/bin/python3
"""The goldfish-memory task of issue 4: does a recurrent net remember the
first element of a long sequence?

Each example is a sequence of LENGTH steps of one feature, every element
drawn uniformly from [-1, 1]; the label is 1 when the FIRST element is
positive, else 0. Everything after step 0 is noise, so a model must carry
one bit through LENGTH - 1 updates of its state: a vanilla RNN's gradient
through 49 tanh steps vanishes and it stays near chance (50 %); an LSTM's
cell state (forget gate biased towards 1) keeps it.

Writes, into OUT_DIR, IDX files (docs/data.md): f32 sequences [n, LENGTH, 1]
and u8 labels [n]:
    train-seq.idx  train-labels.idx   (--train examples)
    test-seq.idx   test-labels.idx    (--test examples)
Usage: tools/goldfish.py OUT_DIR [--length 50] [--train 4000] [--test 1000] [--seed 1]
examples/goldfish_rnn.net and examples/goldfish_lstm.net read them from a
`goldfish/` directory on the data path (e.g. NETC_DATA=<parent of OUT_DIR>).
"""
import argparse
import os
import struct

import numpy as np


def write_idx(path, array, type_code):
    with open(path, "wb") as f:
        f.write(struct.pack(">BBBB", 0, 0, type_code, array.ndim))
        for d in array.shape:
            f.write(struct.pack(">I", d))
        f.write(array.tobytes())


def make(rng, n, length):
    seq = rng.uniform(-1.0, 1.0, size=(n, length, 1)).astype(">f4")
    labels = (seq[:, 0, 0] > 0).astype(np.uint8)
    return seq, labels


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("out_dir")
    p.add_argument("--length", type=int, default=50)
    p.add_argument("--train", type=int, default=4000)
    p.add_argument("--test", type=int, default=1000)
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    if a.length < 1 or a.train < 1 or a.test < 1:
        p.error("length, train and test must be positive")
    os.makedirs(a.out_dir, exist_ok=True)
    rng = np.random.default_rng(a.seed)
    for name, n in (("train", a.train), ("test", a.test)):
        seq, labels = make(rng, n, a.length)
        write_idx(os.path.join(a.out_dir, name + "-seq.idx"), seq, 0x0D)
        write_idx(os.path.join(a.out_dir, name + "-labels.idx"), labels, 0x08)


if __name__ == "__main__":
    main()
