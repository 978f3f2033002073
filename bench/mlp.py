#!/usr/bin/env python3
"""netc against PyTorch on the MLP of examples/mlp.net: bench/train.py with
--models mlp and, by default, all 60,000 training images (--limit 0); every
other option is train.py's (--threads 1,2, --batch 64, --epochs 1, --reps 2,
--limit N, ...).

usage: bench/mlp.py [--netc build/netc] [--threads 1,2] [--batch 64] [--epochs 1] [--reps 2]
"""
import sys

import train

if __name__ == "__main__":
    train.main(["--models", "mlp", "--batches", "64", "--limit", "0"] + sys.argv[1:])
