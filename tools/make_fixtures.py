#!/usr/bin/python3
"""Regenerates tests/fixtures/*.safetensors from the PyTorch reference.

Run with Debian's python3-torch (1.13, CPU):  /usr/bin/python3 tools/make_fixtures.py [name...]
Each module tools/fixtures/<name>.py defines make(), which returns {fixture_name: {key: tensor}}
and documents how every tensor was made. CI never runs this; the outputs are committed.
"""
import importlib
import pathlib
import sys

import torch

HERE = pathlib.Path(__file__).resolve().parent
OUT = HERE.parent / "tests" / "fixtures"
sys.path.insert(0, str(HERE))

from fixtures.safetensors_io import save  # noqa: E402


def main(names):
    torch.use_deterministic_algorithms(True)
    mods = sorted(p.stem for p in (HERE / "fixtures").glob("*.py")
                  if p.stem not in ("__init__", "safetensors_io"))
    for name in names or mods:
        mod = importlib.import_module(f"fixtures.{name}")
        for fixture, tensors in mod.make().items():
            path = OUT / f"{fixture}.safetensors"
            save(path, tensors)
            print(f"{path.relative_to(HERE.parent)}: {len(tensors)} tensors, {path.stat().st_size} bytes")


if __name__ == "__main__":
    main(sys.argv[1:])
