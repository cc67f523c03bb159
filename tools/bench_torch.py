#!/usr/bin/python3
"""PyTorch CPU reference timings for `fdl bench`. Prints one JSON object per line.

  /usr/bin/python3 tools/bench_torch.py conv3d --repeat 5 --shape 2,16,16,80,80,64,3,1,1

A shape is n,cin,cout,x,y,z,k,stride,pad. Each pass (forward, data gradient, weight
gradient) is warmed up once, then the median of `repeat` runs is reported in seconds.
Runs with 2 threads unless --threads says otherwise.
"""
import argparse
import json
import statistics
import time

import torch


def median_seconds(f, repeat):
    f()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        f()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def conv3d(args):
    for spec in args.shape:
        n, cin, cout, x, y, z, k, s, p = (int(v) for v in spec.split(","))
        g = torch.Generator().manual_seed(1)
        inp = torch.randn(n, cin, x, y, z, generator=g)
        w = torch.randn(cout, cin, k, k, k, generator=g)
        out = torch.nn.functional.conv3d(inp, w, None, s, p)
        gy = torch.randn(out.shape, generator=g)

        def backward(mask):
            return lambda: torch.ops.aten.convolution_backward(
                gy, inp, w, None, [s] * 3, [p] * 3, [1] * 3, False, [0] * 3, 1, mask)

        with torch.no_grad():
            fwd = median_seconds(lambda: torch.nn.functional.conv3d(inp, w, None, s, p), args.repeat)
            dgrad = median_seconds(backward([True, False, False]), args.repeat)
            wgrad = median_seconds(backward([False, True, False]), args.repeat)
        print(json.dumps({"op": "conv3d", "shape": spec, "fwd": fwd, "dgrad": dgrad,
                          "wgrad": wgrad, "threads": torch.get_num_threads(),
                          "torch": torch.__version__}), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)
    c = sub.add_parser("conv3d", help="time F.conv3d forward, data and weight gradients")
    c.add_argument("--repeat", type=int, default=5)
    c.add_argument("--threads", type=int, default=2)
    c.add_argument("--shape", action="append", required=True,
                   help="n,cin,cout,x,y,z,k,stride,pad (repeatable)")
    c.set_defaults(run=conv3d)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    args.run(args)


if __name__ == "__main__":
    main()
