"""Lesson 07's 99 % recipe on a shared CPU: how torch's threading options cope with busy neighbours.

    python benchmarks/bench_shared_cpu.py               # every option, quiet and beside 2 busy processes
    python benchmarks/bench_shared_cpu.py --repeats 3 --busy 2 --options default,adaptive

Each run is a fresh Python process (OpenMP reads its environment when torch is imported), which
trains course_lib.recipes.train_small_cnn for one epoch and reports its training seconds. "busy"
runs start N processes spinning `while True: pass` first and stop them after. The table gives the
median seconds and the ratio busy / quiet per option; the target is a ratio <= 3 with a quiet time
no worse than torch's default.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

OPTIONS = {
    # name: (environment added before torch starts, code run after `import torch`)
    "default": ({}, ""),
    "1 thread": ({}, "torch.set_num_threads(1)"),
    "OMP_WAIT_POLICY=PASSIVE": ({"OMP_WAIT_POLICY": "PASSIVE"}, ""),
    "GOMP_SPINCOUNT=0": ({"GOMP_SPINCOUNT": "0"}, ""),
    "adaptive": ({}, "from course_lib.cpus import use_available_cpus; use_available_cpus(adaptive=True)"),
    # the setup cell's choice: the available CPUs minus those other processes run at the start
    "load-aware start": ({}, "from course_lib.cpus import use_available_cpus; use_available_cpus()"),
}

RUN = """
import json, torch
{setup}
from course_lib.recipes import train_small_cnn
result = train_small_cnn(progress=False)
print(json.dumps({{"seconds": result.train_seconds, "accuracy": result.test_accuracy}}))
"""


def run_once(option: str) -> dict:
    env_extra, setup = OPTIONS[option]
    out = subprocess.run([sys.executable, "-c", RUN.format(setup=setup)], env={**os.environ, **env_extra},
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def with_busy(n: int, fn):
    """Call fn while n processes spin on the CPU."""
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]
    try:
        time.sleep(0.5)
        return fn()
    finally:
        for p in spinners:
            p.kill()
            p.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--busy", type=int, default=2, help="busy processes beside the recipe")
    parser.add_argument("--options", default=",".join(OPTIONS), help="comma-separated, from: " + ", ".join(OPTIONS))
    args = parser.parse_args()
    options = [o.strip() for o in args.options.split(",") if o.strip()]
    unknown = [o for o in options if o not in OPTIONS]
    if unknown:
        parser.error(f"unknown options {unknown}; choose from {list(OPTIONS)}")

    print(f"load average before: {os.getloadavg()}", flush=True)
    seconds = {(o, c): [] for o in options for c in ("quiet", "busy")}
    for _ in range(args.repeats):  # interleaved, so a change of the machine's load hits every option
        for option in options:
            quiet = run_once(option)
            seconds[option, "quiet"].append(quiet["seconds"])
            print(f"  {option:<26} quiet {quiet['seconds']:5.1f} s ({quiet['accuracy']:.2%})", end="", flush=True)
            busy = with_busy(args.busy, lambda: run_once(option))
            seconds[option, "busy"].append(busy["seconds"])
            print(f"   busy {busy['seconds']:5.1f} s ({busy['accuracy']:.2%})   "
                  f"load {os.getloadavg()[0]:.1f}", flush=True)
    print(f"load average after: {os.getloadavg()}\n")
    print(f"| option | quiet s | beside {args.busy} busy s | ratio |")
    print("| --- | --- | --- | --- |")
    for option in options:
        q, b = statistics.median(seconds[option, "quiet"]), statistics.median(seconds[option, "busy"])
        print(f"| {option} | {q:.1f} | {b:.1f} | {b / q:.1f}x |")


if __name__ == "__main__":
    main()
