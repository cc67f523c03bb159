#!/usr/bin/python3
"""PyTorch reference timings for `fdl bench`. Prints one JSON object per line.

  /usr/bin/python3 tools/bench_torch.py conv3d --repeat 5 --shape 2,16,16,80,80,64,3,1,1
  /usr/bin/python3 tools/bench_torch.py train --model fd-early --shape 64 64 48 --batch 2
  python3 tools/bench_torch.py train --model unet3d --shape 160 160 128 --device cuda [--tf32]

A shape is n,cin,cout,x,y,z,k,stride,pad. Each pass (forward, data gradient, weight
gradient) is warmed up once, then the median of `repeat` runs is reported in seconds.
Runs with 2 threads unless --threads says otherwise. On the GPU (train --device cuda)
cudnn.benchmark is on, so cuDNN picks its fastest algorithms in the warm-up step; TF32 is off
(true FP32) unless --tf32, and every timed step ends with a wait for the GPU.
"""
import argparse
import json
import statistics
import time

import torch
import torch.nn.functional as F


def median_seconds(f, repeat, sync=lambda: None):
    f()
    sync()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        f()
        sync()
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


def train(args):
    """Whole training steps of the PyTorch reference networks (tools/fixtures/models.py)."""
    import resource
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from fixtures.models import UNet3D, dice_loss

    dev = torch.device(args.device)
    cuda = dev.type == "cuda"
    if cuda and not torch.cuda.is_available():
        sys.exit("bench_torch.py: --device cuda but torch.cuda.is_available() is False")
    torch.backends.cuda.matmul.allow_tf32 = args.tf32
    torch.backends.cudnn.allow_tf32 = args.tf32
    torch.backends.cudnn.benchmark = cuda
    fusion = {"unet3d": None, "fd-early": "early", "fd-late": "late"}[args.model]
    x, y, z = args.shape
    torch.manual_seed(1)
    model = UNet3D(1, 2, 8, fusion).to(dev).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-10)
    inp = torch.randn(args.batch, 1, x, y, z, device=dev)
    grid = torch.stack(torch.meshgrid(*[torch.arange(n, dtype=torch.float32) for n in (x, y, z)],
                                      indexing="ij"))
    centre = torch.tensor([x / 2, y / 2, z / 2]).reshape(3, 1, 1, 1)
    inside = ((grid - centre) ** 2).sum(0).sqrt() < 0.25 * min(x, y, z)
    labels = inside.long().expand(args.batch, x, y, z)
    target = F.one_hot(labels, 2).permute(0, 4, 1, 2, 3).float().to(dev)
    last = {}

    def step():
        opt.zero_grad(set_to_none=True)
        loss = dice_loss(model(inp), target)
        loss.backward()
        opt.step()
        last["loss"] = loss.item()  # synchronises on the GPU, as fdl's logging does
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    seconds = median_seconds(step, args.repeat, torch.cuda.synchronize if cuda else lambda: None)
    peak = (torch.cuda.max_memory_allocated() if cuda
            else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
    extra = {}
    if cuda:
        extra = {"gpu": torch.cuda.get_device_name(), "cuda": torch.version.cuda,
                 "cudnn": torch.backends.cudnn.version(),
                 "cudnn_allow_tf32": torch.backends.cudnn.allow_tf32,
                 "cudnn_benchmark": torch.backends.cudnn.benchmark}
    print(json.dumps({"op": "train", "model": args.model, "shape": args.shape, "batch": args.batch,
                      "device": args.device, "tf32": args.tf32, "seconds": seconds,
                      "peak_bytes": peak, "loss": last["loss"], "threads": torch.get_num_threads(),
                      "torch": torch.__version__, **extra}), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)
    c = sub.add_parser("conv3d", help="time F.conv3d forward, data and weight gradients")
    c.add_argument("--repeat", type=int, default=5)
    c.add_argument("--threads", type=int, default=2)
    c.add_argument("--shape", action="append", required=True,
                   help="n,cin,cout,x,y,z,k,stride,pad (repeatable)")
    c.set_defaults(run=conv3d)
    t = sub.add_parser("train", help="time whole training steps of the reference networks")
    t.add_argument("--model", choices=["unet3d", "fd-early", "fd-late"], required=True)
    t.add_argument("--shape", type=int, nargs=3, default=[64, 64, 48])
    t.add_argument("--batch", type=int, default=2)
    t.add_argument("--repeat", type=int, default=3)
    t.add_argument("--threads", type=int, default=2)
    t.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    t.add_argument("--tf32", action="store_true", help="allow TF32 on the GPU")
    t.set_defaults(run=train)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    args.run(args)


if __name__ == "__main__":
    main()
