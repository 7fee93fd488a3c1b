"""Time course_lib against its PyTorch twins, then the scalar autograd engine.

    python benchmarks/bench_course_lib.py [--threads N]

From scratch is allowed to be slower than PyTorch, but not so slow that a lesson or an exercise
waits on it: conv2d and max_pool2d should stay within 5x of PyTorch, softmax and cross_entropy
within 3x. Each pair is timed interleaved (PyTorch, ours, PyTorch, ours, ...) after a warm-up,
so both see the same machine load; the table shows the median time of each and the median
of the paired ratios. A MISS is printed, not raised: the exit code is 0 either way.

--threads sets torch.set_num_threads (default: PyTorch's own choice). On a busy shared machine
one thread gives steadier ratios, because a parallel op waits for its slowest thread.
"""
from __future__ import annotations

import argparse
import gc
import itertools
import random
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

# run from anywhere: the repository root holds course_lib
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from course_lib.activations import softmax
from course_lib.autograd import Value
from course_lib.cnn import conv2d, max_pool2d
from course_lib.losses import cross_entropy

BUDGET_S = 1.0  # rough time spent per row, which sets the number of repeats


def median_times(theirs, ours, warmup: int = 3) -> tuple[float, float, float, float]:
    """Median seconds per call of each, the median of the paired ratios ours / theirs, and the
    ratio of the fastest runs.

    Each repeat times theirs and then ours back to back; the ratio of such a pair cancels slow
    drifts in machine load that the ratio of two medians would not. The best-case ratio shows
    what the code costs when nothing else competes for the CPU.
    """
    for _ in range(warmup):
        theirs(), ours()
    start = time.perf_counter()
    theirs(), ours()
    repeats = max(7, min(200, int(BUDGET_S / max(time.perf_counter() - start, 1e-6))))
    times = ([], [])
    for _ in range(repeats):
        for fn, bucket in zip((theirs, ours), times):
            t0 = time.perf_counter()
            fn()
            bucket.append(time.perf_counter() - t0)
    ratios = [o / t for t, o in zip(*times)]
    return (statistics.median(times[0]), statistics.median(times[1]), statistics.median(ratios),
            min(times[1]) / min(times[0]))


def forward_backward(fn, *inputs):
    """A closure running fn forward and backward (w.r.t. every input) with a fixed upstream grad."""
    leaves = [t.detach().clone().requires_grad_(True) for t in inputs]
    grad_out = torch.randn_like(fn(*leaves))
    return lambda: torch.autograd.grad(fn(*leaves), leaves, grad_out)


def cases(g: torch.Generator):
    """(op, case, target ratio, PyTorch closure, course_lib closure)."""
    for n, c, hw, out in [(64, 1, 28, 32), (64, 16, 14, 32)]:
        x, w = torch.randn(n, c, hw, hw, generator=g), torch.randn(out, c, 3, 3, generator=g)
        b = torch.randn(out, generator=g)
        name = f"{n}x{c}x{hw}x{hw} * {out}x{c}x3x3 p1"
        yield ("conv2d fwd", name, 5, lambda x=x, w=w, b=b: F.conv2d(x, w, b, padding=1),
               lambda x=x, w=w, b=b: conv2d(x, w, b, padding=1))
        yield ("conv2d fwd+bwd", name, 5,
               forward_backward(lambda x, w, b: F.conv2d(x, w, b, padding=1), x, w, b),
               forward_backward(lambda x, w, b: conv2d(x, w, b, padding=1), x, w, b))
    x = torch.randn(64, 32, 28, 28, generator=g)
    for k, s in [(2, None), (3, 2)]:
        name = f"64x32x28x28 k{k} s{s or k}"
        yield ("max_pool2d fwd", name, 5, lambda k=k, s=s: F.max_pool2d(x, k, s),
               lambda k=k, s=s: max_pool2d(x, k, s))
    yield ("max_pool2d fwd+bwd", "64x32x28x28 k2 s2", 5,
           forward_backward(lambda x: F.max_pool2d(x, 2), x), forward_backward(lambda x: max_pool2d(x, 2), x))
    for n, c in [(128, 10), (4096, 1000)]:
        z, labels = torch.randn(n, c, generator=g), torch.randint(0, c, (n,), generator=g)
        yield ("softmax fwd", f"{n}x{c}", 3, lambda z=z: F.softmax(z, dim=-1), lambda z=z: softmax(z))
        yield ("cross_entropy fwd", f"{n}x{c}", 3, lambda z=z, y=labels: F.cross_entropy(z, y),
               lambda z=z, y=labels: cross_entropy(z, y))


def mlp_of_values(sizes: list[int], rng: random.Random) -> list[list[tuple[list[Value], Value]]]:
    """Layers of neurons, each neuron (weights, bias), initialized uniformly in +-1/sqrt(fan_in)."""
    def u(fan_in):
        return Value(rng.uniform(-1, 1) / fan_in ** 0.5)
    return [[([u(n_in) for _ in range(n_in)], u(n_in)) for _ in range(n_out)]
            for n_in, n_out in itertools.pairwise(sizes)]


def mlp_step(layers, xs, ys) -> Value:
    """Forward and backward of mean squared error over the batch; tanh on hidden layers."""
    total = Value(0.0)
    for x, y in zip(xs, ys):
        h = [Value(v) for v in x]
        for i, layer in enumerate(layers):
            h = [sum((wi * hi for wi, hi in zip(w, h)), b) for w, b in layer]
            h = [v.tanh() for v in h] if i < len(layers) - 1 else h
        total = total + (h[0] - y) ** 2
    loss = total / len(xs)
    loss.backward()
    return loss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads(N)")
    if (threads := parser.parse_args().threads) is not None:
        torch.set_num_threads(threads)
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), float32; ms are medians, "
          f"ratio is the median of paired (ours / torch) runs\n")
    header = (f"{'op':<20}{'case':<30}{'torch ms':>10}{'ours ms':>10}{'ratio':>8}{'target':>8}  result"
              f"{'best-case ratio':>17}")
    print(header + "\n" + "-" * len(header))
    misses = 0
    for op, name, target, theirs, ours in cases(torch.Generator().manual_seed(0)):
        t_theirs, t_ours, ratio, best_ratio = median_times(theirs, ours)
        ok = ratio <= target
        misses += not ok
        print(f"{op:<20}{name:<30}{t_theirs * 1e3:>10.3f}{t_ours * 1e3:>10.3f}{ratio:>7.2f}x"
              f"{'<=' + str(target) + 'x':>8}  {'PASS' if ok else 'MISS':<6}{best_ratio:>16.2f}x")
    print(f"\n{misses} MISS" if misses else "\nall PASS")

    rng = random.Random(0)
    xs = [(rng.uniform(-1, 1), rng.uniform(-1, 1)) for _ in range(32)]
    ys = [x0 * x1 for x0, x1 in xs]  # a saddle, which needs the hidden layers
    layers = mlp_of_values([2, 16, 16, 1], rng)
    n_params = sum(len(w) + 1 for layer in layers for w, _ in layer)
    timings = {}
    # Each node allocates a few objects, so Python's cycle collector keeps running, and its full
    # passes walk every object torch has loaded too. A learner pays that, so both are shown.
    for gc_on in (True, False):
        gc.collect()
        if gc_on:
            gc.enable()
        else:
            gc.disable()
        runs = []
        for _ in range(5):
            t0 = time.perf_counter()
            loss = mlp_step(layers, xs, ys)
            runs.append(time.perf_counter() - t0)
        timings[gc_on] = statistics.median(runs)
    gc.enable()
    print(f"\nautograd.Value MLP 2-16-16-1 (tanh, {n_params} parameters), 32 points, MSE loss {loss.data:.4f}:"
          f"\n  forward+backward {timings[True] * 1e3:.1f} ms (median of 5); "
          f"{timings[False] * 1e3:.1f} ms with the garbage collector paused")


if __name__ == "__main__":
    main()
