#!/usr/bin/python3
# ===- optimizer_torch.py - netc's optimizers vs torch.optim -------------=== #
#
# Usage: optimizer_torch.py UNIT_TEST_BINARY WORK_DIR
#
# Runs the unit binary's hidden "[.torch-export]" case, which writes every case
# of tests/unit/optimizer_test.cpp (initial parameters, 12 steps of gradients,
# and the parameters after each step as the interpreter computed them from the
# optimizer pass's IR) as JSON lines; replays the same gradients through
# torch.optim.<Name> (and torch.optim.lr_scheduler, torch.nn.utils.clip_grad_*)
# in float64 with PyTorch's own defaults, and compares after every step.
# Passes when every case's largest relative difference is below 1e-5. Exits
# 77 (ctest: skipped), saying why, where /usr/bin/python3 cannot import torch.
#
# ===----------------------------------------------------------------------=== #
import json
import os
import struct
import subprocess
import sys

TOLERANCE = 1e-5


def f32(x):
    """x rounded to float32, as netc's @lr state holds it."""
    return struct.unpack("f", struct.pack("f", x))[0]


def make_optimizer(torch, case, params):
    a = case["args"]
    kw = {"lr": f32(a.get("lr", {"adadelta": 1.0, "adam": 1e-3, "adamw": 1e-3}.get(
        case["optimizer"], 1e-2)))}
    o = case["optimizer"]
    names = {"sgd": "SGD", "rmsprop": "RMSprop", "adam": "Adam", "adamw": "AdamW",
             "adagrad": "Adagrad", "adadelta": "Adadelta"}
    for k, v in a.items():
        if k == "lr":
            continue
        if k in ("beta1", "beta2"):
            betas = list(kw.get("betas", (0.9, 0.999)))
            betas[k == "beta2"] = v
            kw["betas"] = tuple(betas)
        elif k in ("nesterov", "amsgrad", "centered"):
            kw[k] = bool(v)
        else:
            kw[k] = v
    return names[o], getattr(torch.optim, names[o])(params, **kw)


def make_schedule(torch, case, opt):
    s, a = case["schedule"], case["schedule_args"]
    sched = torch.optim.lr_scheduler
    if s == "step":
        return sched.StepLR(opt, step_size=int(a["every"]), gamma=a["gamma"]), None
    if s == "exponential":
        return sched.ExponentialLR(opt, gamma=a["gamma"]), None
    if s == "cosine":
        # PyTorch's cosine rises again after T_max; netc's holds at min_lr.
        return sched.CosineAnnealingLR(opt, T_max=int(a["steps"]), eta_min=a["min_lr"]), int(
            a["steps"])
    return None, None


def check(torch, record):
    case, run = record["case"], record["run"]
    w = torch.tensor(run["w0"], dtype=torch.float64).reshape(3, 4).requires_grad_()
    b = torch.tensor(run["b0"], dtype=torch.float64).requires_grad_()
    name, opt = make_optimizer(torch, case, [w, b])
    sched, compare_until = make_schedule(torch, case, opt)
    worst, compared = 0.0, 0
    for s, step in enumerate(run["steps"]):
        w.grad = torch.tensor(step["gw"], dtype=torch.float64).reshape(3, 4)
        b.grad = torch.tensor(step["gb"], dtype=torch.float64)
        if case["clip_value"]:
            torch.nn.utils.clip_grad_value_([w, b], case["clip_value"])
        if case["clip_norm"]:
            torch.nn.utils.clip_grad_norm_([w, b], case["clip_norm"])
        opt.step()
        if sched:
            sched.step()
        if compare_until is not None and s >= compare_until:
            continue
        compared += 1
        for got, want in ((step["w"], w), (step["b"], b)):
            got = torch.tensor(got, dtype=torch.float64).reshape(want.shape)
            want = want.detach()
            rel = ((got - want).abs() / want.abs().clamp(min=1e-3)).max().item()
            worst = max(worst, rel)
    what = "torch.optim." + name
    if case["schedule"]:
        what += " + " + type(sched).__name__
    if case["clip_norm"]:
        what += " + clip_grad_norm_"
    if case["clip_value"]:
        what += " + clip_grad_value_"
    ok = worst < TOLERANCE
    print(f"{'ok  ' if ok else 'FAIL'} {run['name']:<28} vs {what:<46} {compared:2d} steps, "
          f"max relative difference {worst:.2e}")
    return ok


def main():
    if len(sys.argv) != 3:
        print(__doc__ or "usage: optimizer_torch.py UNIT_TEST_BINARY WORK_DIR", file=sys.stderr)
        return 2
    unit, work = sys.argv[1], sys.argv[2]
    try:
        import torch
    except Exception as e:  # ImportError, or a broken install
        print(f"SKIPPED: the PyTorch cross-check of the optimizers needs torch, and "
              f"{sys.executable} cannot import it ({type(e).__name__}: {e})")
        return 77
    torch.set_default_dtype(torch.float64)
    os.makedirs(work, exist_ok=True)
    path = os.path.join(work, "optimizer_cases.jsonl")
    env = dict(os.environ, NETC_OPTIM_EXPORT=path)
    r = subprocess.run([unit, "[.torch-export]"], env=env, capture_output=True, text=True)
    if r.returncode != 0:
        print(r.stdout, r.stderr, sep="\n")
        print("FAIL: the unit binary could not export the optimizer cases")
        return 1
    print(f"PyTorch {torch.__version__}; tolerance {TOLERANCE:g} relative "
          f"(|netc - torch| / max(|torch|, 1e-3))")
    with open(path) as f:
        results = [check(torch, json.loads(line)) for line in f if line.strip()]
    if not results:
        print("FAIL: no cases exported")
        return 1
    print(f"{sum(results)}/{len(results)} cases agree with PyTorch")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
