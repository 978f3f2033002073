#!/usr/bin/env python3
"""Two netc trainers measured side by side, one per core.

usage: bench/ab.py TRAINER_A TRAINER_B [--rounds 8] [--batch 64]
       [--limit 6400] [-- extra trainer arguments]

Each round runs `TRAINER train --epochs 1 --batch B --threads 1
--no-checkpoint --limit N --validate-limit 100` for both trainers at the
same time, A pinned to one core and B to the other (`taskset`), swapping
the cores every round, and reads the samples/s each prints. It prints
each round and the geometric mean of B / A over the rounds.

Why: on the 2-vCPU development VMs the machine's speed moves by 20-40 %
within minutes, so two trainers run one after the other mostly measure
the VM. Run at the same time they see the same phase, and swapping the
cores cancels a faster core. Use it to compare two builds of the same
model (say, with and without a change, each built with its own empty
NETC_CACHE_DIR); the trainers run in their own directories, so each needs
its data there (a `fashion-mnist` symlink for the examples).
"""
import argparse
import math
import os
import re
import subprocess
import sys


def start(trainer, core, args):
    cmd = ["taskset", "-c", str(core), os.path.abspath(trainer), "train"] + args
    return subprocess.Popen(cmd, cwd=os.path.dirname(os.path.abspath(trainer)),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def samples_per_s(proc, out, name):
    found = re.findall(r"([0-9]+) samples/s", out)
    if proc.returncode != 0 or not found:
        sys.exit(f"ab.py: {name} failed (exit {proc.returncode}):\n{out}")
    return int(found[-1])


def main():
    argv = sys.argv[1:]
    extra = []
    if "--" in argv:
        extra = argv[argv.index("--") + 1:]
        argv = argv[:argv.index("--")]
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("--rounds", type=int, default=8)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--limit", type=int, default=6400)
    o = p.parse_args(argv)
    if o.rounds < 1:
        sys.exit("ab.py: --rounds must be at least 1")
    if len(os.sched_getaffinity(0)) < 2:
        sys.exit("ab.py: needs two cores")
    args = ["--epochs", "1", "--batch", str(o.batch), "--threads", "1", "--no-checkpoint",
            "--limit", str(o.limit), "--validate-limit", "100"] + extra
    logs = []
    print("round  core(A)   A samples/s   B samples/s   B/A")
    for r in range(o.rounds):
        core_a = r % 2
        pa = start(o.a, core_a, args)
        pb = start(o.b, 1 - core_a, args)
        # Both finish before either is judged: no trainer outlives the script.
        out_a, out_b = pa.communicate()[0], pb.communicate()[0]
        a, b = samples_per_s(pa, out_a, o.a), samples_per_s(pb, out_b, o.b)
        logs.append(math.log(b / a))
        print(f"{r + 1:5d}  {core_a:7d}  {a:12d}  {b:12d}  {b / a:5.3f}")
    wins = sum(1 for x in logs if x > 0)
    print(f"B/A geometric mean {math.exp(sum(logs) / len(logs)):.3f} over {len(logs)} rounds "
          f"(B faster in {wins})")


if __name__ == "__main__":
    main()
