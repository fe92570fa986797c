#!/usr/bin/env python3
"""Drop the Adam state from a finished stage's DeePMD-kit checkpoint (two thirds of its size).

A finished stage is only read again by `dp --pt freeze` and by the next stage's
`--init-model`, neither of which uses the optimizer state; `--restart` from a stripped file
starts Adam afresh.  Written whole (temp file, then rename).

    python strip_checkpoint.py checkpoints/hybrid_tail.ckpt-3000.pt
"""
import os
import sys

import torch


def main(path):
    ck = torch.load(path, map_location="cpu", weights_only=True)
    if ck.get("optimizer") is None:
        return 0
    ck["optimizer"] = None  # the key stays: deepmd-kit reads it whenever "model" is present
    tmp = path + ".tmp"
    torch.save(ck, tmp)
    os.replace(tmp, path)
    print(f"{path}: optimizer state dropped, {os.path.getsize(path) / 2**20:.1f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
