#!/usr/bin/env python3
"""netc against PyTorch (and JAX, torch.compile) on examples/{mlp,cnn,lstm}.net, in one run.

For each model it times `netc build` cold (empty NETC_CACHE_DIR) and cached
(the same build again), with the build's peak resident memory. Then for each
model, batch and thread count it runs the netc trainer, its PyTorch peer
(bench/train_torch.py: the same model, initialisation scheme, optimizer,
data and batch) and, where a Python here imports jax, its JAX peer
(bench/train_jax.py: the whole step under jax.jit) and, where a Python here
imports PyTorch 2, its torch.compile peer (bench/train_torch.py --compile:
the model and the optimizer step compiled by TorchInductor, compilation
untimed) alternately, `--reps` times each (the order flips every rep), and
prints the median training samples/s of each (the held-out evaluation is
not timed on any side), the ratios netc / PyTorch, netc / JAX and
netc / torch.compile, netc's and PyTorch's peak
resident memory (the largest over the reps) and held-out accuracy (last
rep). By default each run trains 1 epoch on the first 12,800 training images
(`--limit 0` for all 60,000) so that the whole default command takes a few
minutes.

PyTorch is configured at its best on these machines: Debian's torch calls
whatever libblas.so.3 is installed (the reference BLAS by default, about 5
GFLOP/s), so the OpenMP build of OpenBLAS (libopenblas0-openmp) is put first
on LD_LIBRARY_PATH (the pthread build fights torch's OpenMP threads); and
since OpenBLAS 0.3.21 does not recognise Zen 5, the script times torch's
[64,784]x[784,512] matmul under each OPENBLAS_CORETYPE (unset, SkylakeX,
Haswell, Zen) and uses the fastest, which it prints. Convolutions go through
torch's oneDNN either way. torch.set_num_threads gets the same thread count
as the trainer's --threads. Needs Debian's python3-torch and
libopenblas0-openmp (run with /usr/bin/python3); without torch the PyTorch
columns say "-".

usage: bench/train.py [--netc build/netc] [--models mlp,cnn,lstm]
       [--batches 64,256] [--threads 1,2] [--epochs 1] [--limit 12800]
       [--validate-limit 0] [--reps 2] [--jax-python PY] [--compile-python PY]
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYTHON = "/usr/bin/python3"
OPENBLAS_OMP = "/usr/lib/x86_64-linux-gnu/openblas-openmp"
MODELS = {
    "mlp": "MLP 784-512-10, SGD lr 0.1 momentum 0.9",
    "cnn": "CNN conv 3x3x32, pool, conv 3x3x64, pool, dense 10, Adam 1e-3",
    "lstm": "LSTM(128) over 28 rows of 28 pixels, dense 10, Adam 1e-3",
}


def measure(cmd, env=None):
    """Runs cmd; returns (stdout and stderr, seconds, peak RSS in MiB) from os.wait4."""
    with tempfile.TemporaryFile("w+") as f:
        t0 = time.perf_counter()
        pid = os.posix_spawnp(cmd[0], cmd, env if env is not None else os.environ,
                              file_actions=[(os.POSIX_SPAWN_DUP2, f.fileno(), 1),
                                            (os.POSIX_SPAWN_DUP2, f.fileno(), 2)])
        _, status, usage = os.wait4(pid, 0)
        secs = time.perf_counter() - t0
        f.seek(0)
        out = f.read()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{' '.join(cmd)} failed ({os.waitstatus_to_exitcode(status)}):\n{out}")
    return out, secs, usage.ru_maxrss / 1024.0


# GFLOP/s of torch's [64,784]x[784,512] matmul: the median of 9 windows of
# 25 products each (the median, not the best, so that a setting that is slow
# whenever other processes load the machine shows it).
PROBE = """
import statistics, sys, time, torch
torch.set_num_threads(int(sys.argv[1]))
a, b = torch.randn(64, 784), torch.randn(784, 512)
for _ in range(5): a @ b
rates = []
for _ in range(9):
    t = time.perf_counter()
    for _ in range(25): a @ b
    rates.append(2 * 64 * 784 * 512 * 25 / (time.perf_counter() - t) / 1e9)
print(statistics.median(rates))
"""


def torch_env(coretype, wait_policy=""):
    env = dict(os.environ)
    for name, value in (("OPENBLAS_CORETYPE", coretype), ("OMP_WAIT_POLICY", wait_policy)):
        env.pop(name, None)
        if value:
            env[name] = value
    if os.path.isdir(OPENBLAS_OMP):
        env["LD_LIBRARY_PATH"] = OPENBLAS_OMP + ":" + env.get("LD_LIBRARY_PATH", "")
    return env


def probe(threads, coretype, wait_policy=""):
    """GFLOP/s of torch's matmul under these settings (-1 if the probe fails)."""
    r = subprocess.run([PYTHON, "-c", PROBE, str(threads)], env=torch_env(coretype, wait_policy),
                       capture_output=True, text=True)
    return float(r.stdout) if r.returncode == 0 else -1.0


def best_torch_env(threads):
    """The OPENBLAS_CORETYPE under which torch's matmul is fastest on 1 thread,
    then the OMP_WAIT_POLICY (default or PASSIVE) under which it is fastest on
    `threads` threads; returns them with the GFLOP/s of each probe."""
    coretype, gflops = max(((c, probe(1, c)) for c in ["", "SkylakeX", "Haswell", "Zen"]),
                           key=lambda r: r[1])
    if threads == 1:
        return coretype, gflops, "", None
    policy, gflops_t = max(((p, probe(threads, coretype, p)) for p in ["", "PASSIVE"]),
                           key=lambda r: r[1])
    return coretype, gflops, policy, gflops_t


def have_torch():
    return subprocess.run([PYTHON, "-c", "import torch"], capture_output=True).returncode == 0


def int_list(text):
    try:
        values = [int(x) for x in text.split(",")]
    except ValueError:
        values = []
    if not values or min(values) <= 0:
        raise argparse.ArgumentTypeError(f"expected positive integers separated by commas, found {text!r}")
    return values


def model_list(text):
    names = text.split(",")
    for n in names:
        if n not in MODELS:
            raise argparse.ArgumentTypeError(f"unknown model {n!r} (known: {', '.join(MODELS)})")
    return names


def build(netc, model, work):
    """Builds examples/<model>.net cold and cached; returns (trainer, cold s, cached s,
    peak MiB of the cold build, the cold build's summary line)."""
    src = os.path.join(ROOT, "examples", model + ".net")
    trainer = os.path.join(work, model + "-trainer")
    env = dict(os.environ, NETC_CACHE_DIR=os.path.join(work, "cache-" + model))
    out, cold, rss = measure([netc, "build", src, "-o", trainer], env)
    summary = re.search(r"(\d+ kernels \(.*?\))", out)
    out2, cached, _ = measure([netc, "build", src, "-o", trainer], env)
    if not re.search(r"\(0 compiled", out2):
        print(f"warning: the second build of {model} was not fully cached: {out2.strip()}")
    return trainer, cold, cached, rss, summary.group(1) if summary else ""


def run_netc(trainer, work, args, batch, threads):
    """One netc training run: (samples/s of each epoch, peak MiB, last accuracy %)."""
    metrics = os.path.join(work, "metrics.jsonl")
    if os.path.exists(metrics):
        os.remove(metrics)
    cmd = [trainer, "train", "--epochs", str(args.epochs), "--batch", str(batch), "--threads",
           str(threads), "--no-checkpoint", "--metrics", metrics]
    if args.limit:
        cmd += ["--limit", str(args.limit)]
    if args.validate_limit:
        cmd += ["--validate-limit", str(args.validate_limit)]
    _, _, rss = measure(cmd)
    with open(metrics) as f:
        lines = [json.loads(l) for l in f if l.strip()]
    return [l["samples_per_s"] for l in lines], rss, 100 * lines[-1]["accuracy"]


def peer_python(explicit, probe):
    """A Python that runs `probe` (Python source) without error: `explicit`
    ("none": skip), else python3 on PATH, else Debian's; or None. Finds the
    JAX peer's Python (probe `import jax`) and torch.compile's."""
    if explicit == "none":
        return None
    for py in [explicit] if explicit else [shutil.which("python3"), PYTHON]:
        try:
            if py and subprocess.run([py, "-c", probe], capture_output=True).returncode == 0:
                return py
        except OSError:
            pass
    return None


def run_peer(python, script, model, args, batch, threads, env=None, extra=()):
    """One training run of a peer (bench/<script> with `extra` flags):
    (samples/s of each epoch, peak MiB, last accuracy %)."""
    cmd = [python, os.path.join(ROOT, "bench", script), "--model", model, "--epochs",
           str(args.epochs), "--batch", str(batch), "--threads", str(threads), *extra]
    if args.limit:
        cmd += ["--limit", str(args.limit)]
    if args.validate_limit:
        cmd += ["--validate-limit", str(args.validate_limit)]
    out, _, rss = measure(cmd, env)
    lines = [json.loads(l) for l in out.splitlines() if l.startswith("{")]
    if not lines:
        sys.exit(f"bench/{script} failed:\n{out}")
    return [l["samples_per_s"] for l in lines], rss, 100 * lines[-1]["accuracy"]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--netc", default=os.path.join(ROOT, "build", "netc"))
    ap.add_argument("--models", type=model_list, default=list(MODELS))
    ap.add_argument("--batches", "--batch", type=int_list, default=[64, 256])
    ap.add_argument("--threads", type=int_list, default=[1, 2])
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--limit", type=int, default=12800, help="train on the first N images (0: all)")
    ap.add_argument("--validate-limit", type=int, default=0,
                    help="evaluate (untimed) on the first N held-out images (0: all)")
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--jax-python", default="",
                    help="a Python with jax for the JAX peer (default: python3 on PATH or "
                         "/usr/bin/python3, whichever imports jax; `none` skips the peer)")
    ap.add_argument("--compile-python", default="",
                    help="a Python with PyTorch 2 for the torch.compile peer (default: python3 on "
                         "PATH or /usr/bin/python3, whichever has torch.compile; `none` skips it)")
    args = ap.parse_args(argv)
    if args.epochs <= 0 or args.reps <= 0 or args.limit < 0 or args.validate_limit < 0:
        ap.error("--epochs and --reps must be positive, --limit and --validate-limit not negative")
    if not os.access(args.netc, os.X_OK):
        ap.error(f"{args.netc}: no netc executable (build it, or pass --netc)")

    work = tempfile.mkdtemp(prefix="netc-bench-")
    try:
        print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the start")
        print(f"{'netc build':<10} {'cold s':>7} {'cached s':>9} {'peak MiB':>9}  kernels")
        trainers = {}
        for m in args.models:
            trainer, cold, cached, rss, summary = build(args.netc, m, work)
            trainers[m] = trainer
            print(f"{m:<10} {cold:>7.1f} {cached:>9.2f} {rss:>9.0f}  {summary}", flush=True)

        torch_ok = have_torch()
        if not torch_ok:
            print("PyTorch peer skipped: /usr/bin/python3 cannot import torch "
                  "(apt-get install python3-torch)")
        else:
            coretype, gflops, policy, gflops_t = best_torch_env(max(args.threads))
            blas = "OpenMP OpenBLAS" if os.path.isdir(OPENBLAS_OMP) else \
                "the default libblas.so.3 (apt-get install libopenblas0-openmp for a fair peer)"
            print(f"PyTorch {blas}, OPENBLAS_CORETYPE={coretype or '(unset)'}: "
                  f"[64,784]x[784,512] at {gflops:.0f} GFLOP/s on 1 thread", end="")
            if gflops_t is not None:
                print(f"; OMP_WAIT_POLICY={policy or '(unset)'}: {gflops_t:.0f} GFLOP/s on "
                      f"{max(args.threads)} threads", end="")
            print()
            env = torch_env(coretype, policy)
        jax_py = peer_python(args.jax_python, "import jax")
        if jax_py:
            version = subprocess.run([jax_py, "-c", "import jax; print(jax.__version__)"],
                                     capture_output=True, text=True).stdout.strip()
            print(f"JAX {version} ({jax_py}): the whole train step under jax.jit, XLA CPU")
        else:
            print("JAX peer skipped: " + ("--jax-python none" if args.jax_python == "none" else
                                          (f"{args.jax_python} cannot import jax " if args.jax_python
                                           else "no Python on PATH can import jax ") +
                                          "(python3 -m pip install jax)"))
        tc_py = peer_python(args.compile_python, "import torch; torch.compile")
        if tc_py:
            version = subprocess.run([tc_py, "-c", "import torch; print(torch.__version__)"],
                                     capture_output=True, text=True).stdout.strip()
            print(f"PyTorch {version} ({tc_py}): torch.compile of the model and of the optimizer "
                  "step (TorchInductor, CPU), compilation untimed")
        else:
            print("torch.compile peer skipped: " + (
                "--compile-python none" if args.compile_python == "none" else
                (f"{args.compile_python} has no PyTorch 2 " if args.compile_python else
                 "no Python on PATH has PyTorch 2 (give one with --compile-python) ") +
                "(python3 -m pip install torch; see bench/README.md)"))
        images = f"{args.limit:,}" if args.limit else "all 60,000"
        print(f"training: {args.epochs} epoch(s) of {images} Fashion-MNIST images, "
              f"median of {args.reps} rep(s); samples/s of training only")
        for m in args.models:
            print(f"  {m}: {MODELS[m]}")
        print(f"{'model':<5} {'batch':>5} {'thr':>3} {'netc samples/s':>15} {'PyTorch samples/s':>18} "
              f"{'ratio':>6} {'netc MiB':>9} {'PyTorch MiB':>12} {'netc acc':>9} {'PyTorch acc':>12}"
              f" {'JAX samples/s':>14} {'vs JAX':>7} {'JAX acc':>8}"
              f" {'compile samples/s':>18} {'vs compile':>11} {'compile acc':>12}",
              flush=True)
        for m in args.models:
            for batch in args.batches:
                for t in args.threads:
                    ours, theirs, our_rss, their_rss, our_acc, their_acc = [], [], 0, 0, 0, 0
                    jaxs, jax_acc, compiled, compiled_acc = [], 0, [], 0
                    for rep in range(args.reps):
                        order = ["netc", "torch", "jax", "compile"]
                        for side in order if rep % 2 == 0 else order[::-1]:
                            if side == "netc":
                                sps, rss, our_acc = run_netc(trainers[m], work, args, batch, t)
                                ours += sps
                                our_rss = max(our_rss, rss)
                            elif side == "torch" and torch_ok:
                                sps, rss, their_acc = run_peer(PYTHON, "train_torch.py", m, args, batch, t,
                                                               env)
                                theirs += sps
                                their_rss = max(their_rss, rss)
                            elif side == "jax" and jax_py:
                                sps, _, jax_acc = run_peer(jax_py, "train_jax.py", m, args, batch, t)
                                jaxs += sps
                            elif side == "compile" and tc_py:
                                sps, _, compiled_acc = run_peer(tc_py, "train_torch.py", m, args, batch,
                                                                t, extra=["--compile"])
                                compiled += sps
                    o = statistics.median(ours)
                    row = f"{m:<5} {batch:>5} {t:>3} {o:>15.0f} "
                    if theirs:
                        p = statistics.median(theirs)
                        row += f"{p:>18.0f} {o / p:>6.2f} {our_rss:>9.0f} {their_rss:>12.0f} "
                        row += f"{our_acc:>8.2f}% {their_acc:>11.2f}%"
                    else:
                        row += f"{'-':>18} {'-':>6} {our_rss:>9.0f} {'-':>12} {our_acc:>8.2f}% {'-':>12}"
                    if jaxs:
                        j = statistics.median(jaxs)
                        row += f" {j:>14.0f} {o / j:>7.2f} {jax_acc:>7.2f}%"
                    else:
                        row += f" {'-':>14} {'-':>7} {'-':>8}"
                    if compiled:
                        c = statistics.median(compiled)
                        row += f" {c:>18.0f} {o / c:>11.2f} {compiled_acc:>11.2f}%"
                    else:
                        row += f" {'-':>18} {'-':>11} {'-':>12}"
                    print(row, flush=True)
        print(f"load average {os.getloadavg()[0]:.1f} at the end")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
