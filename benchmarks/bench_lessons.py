"""Time every lesson top to bottom, and the CNN recipe against PyTorch's classic MNIST example.

    python benchmarks/bench_lessons.py                  # everything: several minutes
    python benchmarks/bench_lessons.py --skip-lessons   # only the training race
    python benchmarks/bench_lessons.py --skip-classic   # lessons and our recipes only

1. Lessons: each notebooks/NN_topic.ipynb is executed in a fresh kernel, as CI and a learner run
   it, on an in-memory copy (the committed file and its outputs are never written). Reported:
   seconds from kernel start to the last cell, and the kernel's peak memory. Budget: < 90 s
   and < 2.5 GB each.
2. Time to accuracy: our recipes (course_lib.recipes, the ones lessons 06 and 07 train with)
   and the classic example of pytorch/examples (mnist/main.py: two convolutions, dropout,
   Adadelta lr 1.0, StepLR gamma 0.7, batch 64, a DataLoader over torchvision's dataset with
   ToTensor + Normalize), one after the other in this process, so on the same cores. The test
   accuracy is measured every 50 batches; only training time is counted, evaluations are not.
   The classic run stops at 99 %, after 3 epochs or after 300 s of training, whichever comes
   first; if it never reaches 99 %, its whole training time gives a lower bound on the ratio.
   Target: our CNN reaches 99 % at least 10x sooner.

The machine's load average is printed: on a shared machine, parallel torch ops wait for
descheduled threads and every number here gets slower.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from anywhere: the repository root holds course_lib
if not os.environ.get("COURSE_DATA_DIR") and (ROOT.parent / "shared" / "data").is_dir():
    os.environ["COURSE_DATA_DIR"] = str(ROOT.parent / "shared" / "data")  # as the Makefile does

from course_lib import recipes  # noqa: E402
from course_lib.data import MNIST_MEAN, MNIST_STD, TensorLoader, load_mnist, mnist_dataset  # noqa: E402

LESSON_BUDGET_S, LESSON_BUDGET_MB = 90, 2560
EVAL_EVERY = 50
PEAK_MEMORY_CELL = "import resource\nprint(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)"


def run_lesson(path: Path) -> tuple[float, int | None, str]:
    """(seconds, kernel peak MB, status) for one notebook run top to bottom in a fresh kernel."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(path, as_version=4)  # a copy in memory: nothing is written back
    nb.cells.append(nbformat.v4.new_code_cell(PEAK_MEMORY_CELL))
    client = NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    try:
        client.execute()
        status = "ok"
    except CellExecutionError as err:
        status = f"FAILED: {str(err).strip().splitlines()[-1][:80]}"
    seconds = time.perf_counter() - start
    outputs = nb.cells[-1].get("outputs", [])
    peak = int(outputs[0]["text"]) if outputs and outputs[0].get("name") == "stdout" else None
    return seconds, peak, status


class ClassicNet(nn.Module):
    """The network of pytorch/examples mnist/main.py: 1,199,882 parameters."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(9216, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv2(F.relu(self.conv1(x)))), 2)  # (N, 64, 12, 12)
        x = torch.flatten(self.dropout1(x), 1)
        x = self.dropout2(F.relu(self.fc1(x)))
        return F.log_softmax(self.fc2(x), dim=1)


def train_classic(max_epochs: int = 3, max_seconds: float = 300.0, seed: int = 0) -> recipes.TrainResult:
    """The classic recipe until 99 % test accuracy, max_epochs or max_seconds of training."""
    from torchvision import transforms

    torch.manual_seed(seed)
    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((MNIST_MEAN,), (MNIST_STD,))])
    loader = torch.utils.data.DataLoader(mnist_dataset(train=True, transform=transform), batch_size=64,
                                         shuffle=True, generator=torch.Generator().manual_seed(seed))
    model = ClassicNet()
    optimizer = torch.optim.Adadelta(model.parameters(), lr=1.0)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.7)
    # The test set as one tensor, normalized like the transform: evaluation is not timed anyway.
    X_test, y_test = load_mnist(train=False)
    return recipes.train_with_checkpoints(model, loader, optimizer, scheduler, max_epochs,
                                          TensorLoader(X_test, y_test, 1000), EVAL_EVERY, loss_fn=F.nll_loss,
                                          stop_at=0.99, max_seconds=max_seconds, scheduler_step="epoch")


def describe(result: recipes.TrainResult, target: float) -> tuple[str, str, str]:
    reached = result.seconds_to(target)
    best = max(acc for _, _, acc in result.checkpoints)
    return (f"{reached:.1f} s" if reached is not None else f"not reached in {result.train_seconds:.0f} s",
            f"{best:.2%}", f"{result.checkpoints[-1][1]} batches, {result.train_seconds:.1f} s")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-lessons", action="store_true")
    parser.add_argument("--skip-classic", action="store_true")
    args = parser.parse_args(argv)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f}", flush=True)
    failed = False

    if not args.skip_lessons:
        print("\n| lesson | seconds | peak MB | status |\n| --- | ---: | ---: | --- |", flush=True)
        total = 0.0
        for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
            seconds, peak, status = run_lesson(path)
            total += seconds
            over = [f"over {LESSON_BUDGET_S} s"] * (seconds > LESSON_BUDGET_S) + \
                   [f"over {LESSON_BUDGET_MB} MB"] * (peak is not None and peak > LESSON_BUDGET_MB)
            failed |= status != "ok" or bool(over)
            print(f"| {path.stem} | {seconds:.1f} | {peak if peak is not None else '?'} | "
                  f"{'; '.join([status, *over])} |", flush=True)
        print(f"| **total** | {total:.1f} | | |", flush=True)

    print(f"\nTime to test accuracy, training time only, evaluated every {EVAL_EVERY} batches "
          f"(load average {os.getloadavg()[0]:.1f})", flush=True)
    print("\n| recipe | target | time to target | best accuracy | trained for |\n| --- | ---: | ---: | ---: | --- |")
    cnn = recipes.train_small_cnn(eval_every=EVAL_EVERY)
    print(f"| SmallCNN, 1 epoch (lesson 07) | 99 % | {' | '.join(describe(cnn, 0.99))} |", flush=True)
    mlp = recipes.train_mnist_mlp(eval_every=EVAL_EVERY)
    print(f"| MLP 784-256-128-10, 2 epochs (lesson 06) | 97.5 % | {' | '.join(describe(mlp, 0.975))} |", flush=True)
    ours = cnn.seconds_to(0.99)
    failed |= ours is None or ours > 15 or mlp.seconds_to(0.975) is None or mlp.seconds_to(0.975) > 10
    if not args.skip_classic:
        classic = train_classic()
        print(f"| PyTorch's MNIST example (DataLoader, Adadelta) | 99 % | {' | '.join(describe(classic, 0.99))} |",
              flush=True)
        theirs = classic.seconds_to(0.99)
        if ours is None:
            print("\nSmallCNN did not reach 99 %: no ratio.")
        elif theirs is not None:
            print(f"\nSmallCNN reaches 99 % {theirs / ours:.1f}x sooner than the classic example (target: >= 10x).")
            failed |= theirs / ours < 10
        else:
            ratio = classic.train_seconds / ours
            print(f"\nThe classic example never reached 99 % (best {describe(classic, 0.99)[1]}); SmallCNN reaches "
                  f"99 % at least {ratio:.1f}x sooner (target: >= 10x).")
            failed |= ratio < 10
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f}")
    print("all targets met" if not failed else "SOME TARGETS MISSED (see above)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
