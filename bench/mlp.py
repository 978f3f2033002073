#!/usr/bin/env python3
"""netc against PyTorch on the MLP of examples/mlp.net, both in one run.

For each thread count, runs the netc trainer and the PyTorch peer
(bench/mlp_torch.py) alternately, on the same data, model, initialisation
scheme, optimizer (SGD lr 0.1, momentum 0.9) and batch, and prints training
samples/s (the held-out evaluation is not timed), the ratio netc / PyTorch,
and each one's peak resident memory. Also times `netc build` cold (empty
kernel cache) and cached.

PyTorch is configured at its best on these machines: Debian's torch calls
whatever libblas.so.3 is installed (the reference BLAS by default, about 5
GFLOP/s), so the OpenMP build of OpenBLAS (libopenblas0-openmp) is put first
on LD_LIBRARY_PATH (the pthread build fights torch's OpenMP threads); and
since OpenBLAS 0.3.21 does not recognise Zen 5, the script times torch's
[64,784]x[784,512] matmul under each OPENBLAS_CORETYPE (unset, SkylakeX,
Haswell, Zen) and uses the fastest, which it prints. Needs Debian's
python3-torch and libopenblas0-openmp (run with /usr/bin/python3); without
torch the PyTorch column says so.

usage: bench/mlp.py [--netc build/netc] [--threads 1,2] [--epochs 1] [--reps 2]
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(cmd, env=None):
    """Runs cmd; returns (stdout, seconds)."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    out, err = p.communicate()
    secs = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({p.returncode}):\n{err}")
    return out, secs


def peak_rss(cmd, env=None):
    """Runs cmd with os.wait4 to read its own peak RSS (MiB) and its stdout."""
    with tempfile.TemporaryFile("w+") as f:
        pid = os.posix_spawnp(cmd[0], cmd, env if env is not None else os.environ,
                              file_actions=[(os.POSIX_SPAWN_DUP2, f.fileno(), 1)])
        _, status, usage = os.wait4(pid, 0)
        f.seek(0)
        out = f.read()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{out}")
    return out, usage.ru_maxrss / 1024.0


PROBE = """
import time, torch
torch.set_num_threads(1)
a, b = torch.randn(64, 784), torch.randn(784, 512)
for _ in range(5): a @ b
t = time.perf_counter()
for _ in range(200): a @ b
print(2 * 64 * 784 * 512 * 200 / (time.perf_counter() - t) / 1e9)
"""


def torch_env(coretype):
    env = dict(os.environ)
    env.pop("OPENBLAS_CORETYPE", None)
    if coretype:
        env["OPENBLAS_CORETYPE"] = coretype
    omp = "/usr/lib/x86_64-linux-gnu/openblas-openmp"
    if os.path.isdir(omp):
        env["LD_LIBRARY_PATH"] = omp + ":" + env.get("LD_LIBRARY_PATH", "")
    return env


def best_torch_env():
    """The BLAS setting under which torch's matmul is fastest, and its GFLOP/s."""
    best = (None, -1.0)
    for coretype in ["", "SkylakeX", "Haswell", "Zen"]:
        r = subprocess.run(["/usr/bin/python3", "-c", PROBE], env=torch_env(coretype),
                           capture_output=True, text=True)
        if r.returncode == 0 and float(r.stdout) > best[1]:
            best = (coretype, float(r.stdout))
    return best


def have_torch():
    r = subprocess.run(["/usr/bin/python3", "-c", "import torch"], capture_output=True)
    return r.returncode == 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--netc", default=os.path.join(ROOT, "build", "netc"))
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--reps", type=int, default=2)
    args = ap.parse_args()

    work = tempfile.mkdtemp(prefix="netc-bench-")
    model = os.path.join(ROOT, "examples", "mlp.net")
    trainer = os.path.join(work, "mlp-trainer")
    env = dict(os.environ, NETC_CACHE_DIR=os.path.join(work, "cache"))
    _, cold = run([args.netc, "build", model, "-o", trainer], env)
    _, cached = run([args.netc, "build", model, "-o", trainer], env)
    print(f"netc build: cold {cold:.1f} s, cached {cached:.2f} s")

    torch_ok = have_torch()
    if not torch_ok:
        print("PyTorch peer skipped: /usr/bin/python3 cannot import torch (apt-get install python3-torch)")
    else:
        coretype, gflops = best_torch_env()
        blas = "OpenMP OpenBLAS" if os.path.isdir("/usr/lib/x86_64-linux-gnu/openblas-openmp") else \
            "the default libblas.so.3 (apt-get install libopenblas0-openmp for a fair peer)"
        print(f"PyTorch {blas}, OPENBLAS_CORETYPE={coretype or '(unset)'}: "
              f"[64,784]x[784,512] at {gflops:.0f} GFLOP/s on 1 thread")
    print(f"MLP 784-512-10, SGD momentum, batch {args.batch}, {args.epochs} epoch(s) of 60,000 images")
    print(f"{'threads':>7} {'netc samples/s':>15} {'PyTorch samples/s':>18} {'ratio':>6} "
          f"{'netc peak MiB':>14} {'PyTorch peak MiB':>17} {'netc acc':>9} {'PyTorch acc':>12}")
    for t in [int(x) for x in args.threads.split(",")]:
        ours, theirs, our_rss, their_rss, our_acc, their_acc = [], [], 0, 0, 0, 0
        for _ in range(args.reps):
            out, rss = peak_rss([trainer, "train", "--epochs", str(args.epochs), "--batch",
                                 str(args.batch), "--threads", str(t), "--no-checkpoint"])
            ours += [float(x) for x in re.findall(r"([0-9.]+) samples/s", out)]
            our_acc = float(re.findall(r"accuracy ([0-9.]+)%", out)[-1])
            our_rss = max(our_rss, rss)
            if torch_ok:
                out, rss = peak_rss(["/usr/bin/python3", os.path.join(ROOT, "bench", "mlp_torch.py"),
                                     "--epochs", str(args.epochs), "--batch", str(args.batch),
                                     "--threads", str(t)], torch_env(coretype))
                lines = [json.loads(l) for l in out.splitlines() if l.startswith("{")]
                theirs += [l["samples_per_s"] for l in lines]
                their_acc = 100 * lines[-1]["accuracy"]
                their_rss = max(their_rss, rss)
        o = sorted(ours)[len(ours) // 2]
        if theirs:
            p = sorted(theirs)[len(theirs) // 2]
            print(f"{t:>7} {o:>15.0f} {p:>18.0f} {o / p:>6.2f} {our_rss:>14.0f} {their_rss:>17.0f} "
                  f"{our_acc:>8.2f}% {their_acc:>11.2f}%")
        else:
            print(f"{t:>7} {o:>15.0f} {'-':>18} {'-':>6} {our_rss:>14.0f} {'-':>17} {our_acc:>8.2f}% {'-':>12}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
