#!/usr/bin/env python3
"""The JAX peers of examples/{mlp,cnn,lstm}.net, for bench/train.py: the
compiled peer a user would also try, a whole train step (forward, backward,
optimizer) under one jax.jit, compiled by XLA's CPU backend.

The models, initialisation, loss and data are bench/train_torch.py's (see
its docstring), written with jax.numpy and jax.lax: convolutions NHWC with
HWIO filters (netc's layout), max pooling with lax.reduce_window, the LSTM's
28 steps a lax.scan over (h, c) with gates i, f, g, o and the forget gate's
constant + 1. The optimizers are written out with PyTorch's semantics (SGD
with momentum: v = m·v + g, w -= lr·v; Adam with bias correction), read
from the example's train block like the other peers.

Threads: the process is pinned to `--threads` cores (sched_setaffinity)
before JAX starts, and XLA's intra-op pool is sized to match. Each step's
batch is gathered on the host and passed to the compiled step (the same
work train_torch.py does); the step is compiled before the timed epoch.

Needs jax and jaxlib from PyPI (`python3 -m pip install jax`), which
Debian does not package; bench/train.py skips this peer without them.

usage: bench/train_jax.py --model mlp|cnn|lstm [--epochs 1] [--batch 64]
       [--threads 1] [--limit N] [--validate-limit N]
"""
import json
import os
import sys
import time

from example_train import ROOT, load_idx, peer_args, train_block

args = peer_args(__doc__)
os.sched_setaffinity(0, set(sorted(os.sched_getaffinity(0))[: args.threads]))
os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                           f" --xla_cpu_multi_thread_eigen={'true' if args.threads > 1 else 'false'}"
                           f" intra_op_parallelism_threads={args.threads}")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402  (after the thread settings)
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from jax import lax  # noqa: E402


def uniform(key, shape, limit):
    return jax.random.uniform(key, shape, jnp.float32, -limit, limit)


def glorot(key, shape):
    return uniform(key, shape, (6.0 / (shape[0] + shape[1])) ** 0.5)


def he_conv(key, shape):  # [kh, kw, c, f], fan_in = kh*kw*c
    return uniform(key, shape, (6.0 / (shape[0] * shape[1] * shape[2])) ** 0.5)


def init(model, key):
    k = jax.random.split(key, 4)
    if model == "mlp":
        return {"w1": glorot(k[0], (784, 512)), "b1": jnp.zeros(512),
                "w2": glorot(k[1], (512, 10)), "b2": jnp.zeros(10)}
    if model == "cnn":
        return {"k1": he_conv(k[0], (3, 3, 1, 32)), "b1": jnp.zeros(32),
                "k2": he_conv(k[1], (3, 3, 32, 64)), "b2": jnp.zeros(64),
                "w": glorot(k[2], (5 * 5 * 64, 10)), "b": jnp.zeros(10)}
    # LSTM: glorot fans as torch's xavier on [4H, in] and [4H, H].
    lim_w, lim_u = (6.0 / (28 + 512)) ** 0.5, (6.0 / (128 + 512)) ** 0.5
    return {"W": uniform(k[0], (28, 512), lim_w), "U": uniform(k[1], (128, 512), lim_u),
            "b": jnp.zeros(512), "w": glorot(k[2], (128, 10)), "bd": jnp.zeros(10)}


def conv(x, k, b):
    y = lax.conv_general_dilated(x, k, (1, 1), "VALID", dimension_numbers=("NHWC", "HWIO", "NHWC"))
    return jax.nn.relu(y + b)


def pool(x):
    return lax.reduce_window(x, -jnp.inf, lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")


def logits(model, p, x):
    if model == "mlp":
        h = jax.nn.relu(x.reshape(x.shape[0], 784) @ p["w1"] + p["b1"])
        return h @ p["w2"] + p["b2"]
    if model == "cnn":
        h = pool(conv(x[..., None], p["k1"], p["b1"]))
        h = pool(conv(h, p["k2"], p["b2"]))
        return h.reshape(h.shape[0], -1) @ p["w"] + p["b"]
    n = x.shape[0]

    def cell(carry, x_t):
        h, c = carry
        z = x_t @ p["W"] + h @ p["U"] + p["b"]
        i, f, g, o = jnp.split(z, 4, axis=1)
        c = jax.nn.sigmoid(f + 1.0) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
        h = jax.nn.sigmoid(o) * jnp.tanh(c)
        return (h, c), None

    zeros = jnp.zeros((n, 128), jnp.float32)
    (h, _), _ = lax.scan(cell, (zeros, zeros), jnp.swapaxes(x, 0, 1))
    return h @ p["w"] + p["bd"]


def loss_fn(model, p, x, y):
    lg = logits(model, p, x)
    return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(lg), y[:, None], axis=1))


def optimizer(name, kw):
    lr = kw.get("lr", 0.001)
    if name == "sgd":
        m = kw.get("momentum", 0.0)

        def sgd(p, s, g):
            s = jax.tree_util.tree_map(lambda v, gi: m * v + gi, s, g) if m else g
            return jax.tree_util.tree_map(lambda w, v: w - lr * v, p, s), (s if m else 0)

        return sgd, lambda p: jax.tree_util.tree_map(jnp.zeros_like, p) if m else 0
    if name == "adam":
        b1, b2 = kw.get("betas", (0.9, 0.999))
        eps = kw.get("eps", 1e-8)

        def adam(p, s, g):
            t, mu, nu = s
            t = t + 1
            mu = jax.tree_util.tree_map(lambda a, gi: b1 * a + (1 - b1) * gi, mu, g)
            nu = jax.tree_util.tree_map(lambda a, gi: b2 * a + (1 - b2) * gi * gi, nu, g)
            c1, c2 = 1 - b1 ** t, 1 - b2 ** t
            p = jax.tree_util.tree_map(
                lambda w, a, v: w - lr * (a / c1) / (jnp.sqrt(v / c2) + eps), p, mu, nu)
            return p, (t, mu, nu)

        zeros = lambda p: jax.tree_util.tree_map(jnp.zeros_like, p)  # noqa: E731
        return adam, lambda p: (jnp.float32(0), zeros(p), zeros(p))
    sys.exit(f"examples/{args.model}.net: the JAX peer has no {name} optimizer")


def main():
    name, kw, seed, files = train_block(os.path.join(ROOT, "examples", args.model + ".net"))
    update, init_state = optimizer(name, kw)
    model = args.model

    def load(pair, limit):
        x, y = load_idx(pair[0]), load_idx(pair[1])
        if limit:
            x, y = x[:limit], y[:limit]
        return x.astype(np.float32) / 255.0, y.astype(np.int32)

    x, y = load(files["data"], args.limit)
    tx, ty = load(files["validate"], args.validate_limit)
    params = init(model, jax.random.PRNGKey(seed if args.seed is None else args.seed))
    state = init_state(params)

    @jax.jit
    def step(p, s, xb, yb):
        loss, g = jax.value_and_grad(lambda q: loss_fn(model, q, xb, yb))(p)
        p, s = update(p, s, g)
        return p, s, loss

    predict = jax.jit(lambda p, xb: jnp.argmax(logits(model, p, xb), axis=1))
    n = x.shape[0]
    rng = np.random.default_rng(seed)
    sizes = {min(args.batch, n - i) for i in range(0, n, args.batch)}
    compiled = {b: step.lower(params, state, x[:b], y[:b]).compile() for b in sizes}
    for epoch in range(args.epochs):
        order = rng.permutation(n)
        t0 = time.perf_counter()
        total = 0.0
        for i in range(0, n, args.batch):
            idx = order[i : i + args.batch]
            params, state, loss = compiled[len(idx)](params, state, x[idx], y[idx])
            total += float(loss) * len(idx)
        secs = time.perf_counter() - t0
        correct = sum(int((np.asarray(predict(params, tx[i : i + 1000])) == ty[i : i + 1000]).sum())
                      for i in range(0, len(tx), 1000))
        print(json.dumps({"peer": "jax", "model": model, "epoch": epoch + 1,
                          "threads": args.threads, "batch": args.batch, "train_loss": total / n,
                          "accuracy": correct / len(tx), "seconds": secs,
                          "samples_per_s": n / secs, "jax": jax.__version__}),
              flush=True)


if __name__ == "__main__":
    main()
