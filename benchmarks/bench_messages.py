"""What the course's languages cost: checks and figures in Chinese against the same in English.

    python benchmarks/bench_messages.py

A learner waits on every check and every figure, so speaking Chinese should cost them nothing they
notice: each row times the same work with COURSE_LANG unset and with COURSE_LANG=zh, interleaved
(en, zh, en, zh ...) after a warm-up so both see the same machine load, and prints the median time
of each and the median of the paired ratios zh / en. Figures are translated only where a CJK font
is installed (course_lib/figure_language.py); without one the figure row measures English twice.
"""
from __future__ import annotations

import io
import os
import statistics
import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from course_lib.figure_language import label_figures  # noqa: E402
from course_lib.grading import GradingError, assert_close  # noqa: E402

REPEATS = 30


def failing_check() -> None:
    """A wrong answer's message: counts, errors, the first mismatch, a factor, the hint."""
    expected = torch.linspace(-3, 3, 1000)
    try:
        assert_close(2 * expected, expected, name="relu", inputs={"z": expected},
                     hint="use the negative_slope argument, not a fixed 0.01")
    except GradingError as err:
        str(err)


def passing_check() -> None:
    expected = torch.linspace(-3, 3, 1000)
    assert_close(expected.clone(), expected, name="relu", inputs={"z": expected})


def figure() -> None:
    """Lesson 04's loss curves: labels, a title and a legend, drawn to a PNG."""
    fig, ax = plt.subplots()
    for lr in (0.01, 0.05, 0.1):
        ax.plot(range(20), [1 / (1 + lr * i) for i in range(20)], label=f"lr = {lr}")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss on all data")
    ax.set_title("Loss curves")
    ax.legend()
    fig.savefig(io.BytesIO(), format="png")
    plt.close(fig)


def in_language(language: str, work) -> float:
    os.environ["COURSE_LANG"] = language
    label_figures()
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def main() -> None:
    print(f"{'work':<16}{'en (ms)':>10}{'zh (ms)':>10}{'zh / en':>10}")
    for name, work in (("failing check", failing_check), ("passing check", passing_check), ("figure", figure)):
        for language in ("en", "zh"):
            in_language(language, work)  # warm-up: caches, fonts, the catalog
        pairs = [(in_language("en", work), in_language("zh", work)) for _ in range(REPEATS)]
        en, zh = statistics.median(p[0] for p in pairs), statistics.median(p[1] for p in pairs)
        ratio = statistics.median(z / e for e, z in pairs)
        print(f"{name:<16}{en * 1e3:>10.2f}{zh * 1e3:>10.2f}{ratio:>10.2f}")
    os.environ.pop("COURSE_LANG")
    label_figures()


if __name__ == "__main__":
    main()
