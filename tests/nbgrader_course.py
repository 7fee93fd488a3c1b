"""What the nbgrader tests share: a copy of the course, submissions made from its source and
release, and nbgrader run as the class command runs it."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
EXERCISES = ROOT / "exercises"
# COURSE_ASSIGNMENTS=05_backprop,06_mlp narrows the run while writing an assignment.
ASSIGNMENTS = sorted(p.name for p in (EXERCISES / "source").iterdir() if p.is_dir()
                     and p.name in os.environ.get("COURSE_ASSIGNMENTS", p.name).split(","))
PYTHON = sys.executable
# nbgrader's command with 1.5-3 s less start-up, as exercises/grade.py runs it
NBGRADER = [PYTHON, "-c", ("import sys; sys.modules.setdefault('rfc3987_syntax', None); sys.argv[0] = 'nbgrader'; "
                           "from nbgrader.apps.nbgraderapp import main; sys.exit(main())")]
# nbgrader runs `alembic` when it creates a gradebook: the venv's scripts must be on PATH.
ENV = {**os.environ, "PATH": os.pathsep.join([str(Path(PYTHON).parent), os.environ.get("PATH", "")])}
NOT_COPIED = shutil.ignore_patterns("gradebook.db*", "submitted", "autograded", "feedback",
                                    "grading_logs", "__pycache__", ".ipynb_checkpoints", "*.csv")

LOOP = "def {name}(*args, **kwargs):\n    while True:\n        pass"
SWALLOW = ("import time\n\ndef {name}(*args, **kwargs):\n    while True:\n        try:\n"
           "            time.sleep(0.05)\n        except BaseException:\n            pass")

# assignment -> ({solution cell: new source}, {test cells that must fail}, exact autograded score)
PARTIAL = {
    "01_neurons": (
        {"logic_gate_weights": "def logic_gate_weights(gate):\n"
                               "    return torch.tensor([[1.0, 1.0]]), torch.tensor([-1.5])",  # AND for all
         "perceptron_train": "def perceptron_train(X, y, lr=1.0, epochs=100):\n"  # never moves the bias
                             "    weight, bias = torch.zeros(1, X.shape[1], dtype=X.dtype), torch.zeros(1, dtype=X.dtype)\n"
                             "    for _ in range(epochs):\n"
                             "        for x_i, y_i in zip(X, y):\n"
                             "            weight = weight + lr * (y_i - perceptron(x_i, weight, bias)) * x_i\n"
                             "    return weight, bias"},
        {"test_logic_gate_weights", "test_perceptron_train"}, 3),
    "02_activations": (
        {"sigmoid": "def sigmoid(z):\n    return torch.sigmoid(z)",  # the forbidden twin
         "softmax": "def softmax(z, dim=-1):\n    e = torch.exp(z)\n    return e / e.sum(dim=dim, keepdim=True)"},
        {"test_sigmoid", "test_softmax"}, 9),  # sigmoid_grad is graded with the grader's sigmoid
    "03_losses": (
        {"binary_cross_entropy": "def binary_cross_entropy(prob, target):\n"
                                 "    return -(target * prob.log() + (1 - target) * (1 - prob).log()).mean()",
         "cross_entropy": "def cross_entropy(logits, labels):\n"
                          "    log_probs = logits - logits.exp().sum(dim=1, keepdim=True).log()\n"
                          "    return -log_probs[torch.arange(len(labels)), labels].sum()"},
        {"test_binary_cross_entropy", "test_cross_entropy"}, 4),
    "04_gradient_descent": (
        {"gd_step": "def gd_step(w, grad, lr):\n    w -= lr * grad\n    return w",
         "adam_step": "def adam_step(w, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):\n"
                      "    m = betas[0] * m + (1 - betas[0]) * grad\n"
                      "    v = betas[1] * v + (1 - betas[1]) * grad**2\n"
                      "    return w - lr * m / (v.sqrt() + eps), m, v"},
        {"test_gd_step", "test_adam_step"}, 6),
    "05_backprop": (
        {"relu_backward": "def relu_backward(grad_out, z):\n    return grad_out * (z >= 0)",  # slope 1 at z = 0
         "sigmoid_backward": "def sigmoid_backward(grad_out, z):\n"  # autograd does the work
                             "    z = z.detach().requires_grad_()\n"
                             "    return torch.autograd.grad(torch.sigmoid(z), z, grad_out)[0]",
         "softmax_cross_entropy_backward": "def softmax_cross_entropy_backward(logits, labels):\n"  # no / N
                                           "    grad = torch.softmax(logits, dim=1)\n"
                                           "    grad[torch.arange(len(labels)), labels] -= 1\n"
                                           "    return grad"},
        {"test_relu_backward", "test_sigmoid_backward", "test_softmax_cross_entropy_backward"}, 5),
    "06_mlp": (
        {"train_one_epoch": "def train_one_epoch(model, loader, loss_fn, optimizer):\n"  # mean of batch means
                            "    model.train()\n    losses = []\n    for x, y in loader:\n"
                            "        optimizer.zero_grad()\n        loss = loss_fn(model(x), y)\n"
                            "        loss.backward()\n        optimizer.step()\n        losses.append(loss.item())\n"
                            "    return sum(losses) / len(losses)",
         "evaluate_accuracy": "def evaluate_accuracy(model, loader):\n"  # leaves the model in eval mode
                              "    model.eval()\n    correct = count = 0\n    with torch.no_grad():\n"
                              "        for x, y in loader:\n"
                              "            correct += (model(x).argmax(dim=1) == y).sum().item()\n"
                              "            count += len(y)\n    return correct / count"},
        {"test_train_one_epoch", "test_evaluate_accuracy"}, 2),
    "07_cnn": (
        {"conv2d": "import torch.nn.functional as F\n\n"  # the forbidden twin
                   "def conv2d(x, weight, bias=None, stride=1, padding=0):\n"
                   "    return F.conv2d(x, weight, bias, stride=stride, padding=padding)",
         "max_pool2d": "def max_pool2d(x, kernel_size, stride=None):\n"  # a maximum that starts at 0
                       "    windows = x.unfold(2, kernel_size, stride or kernel_size).unfold(3, kernel_size, stride or kernel_size)\n"
                       "    return windows.amax(dim=(-2, -1)).clamp(min=0)"},
        {"test_conv2d", "test_max_pool2d"}, 3),
    "08_overfitting": (
        {"dropout": "def dropout(x, p, training=True, generator=None):\n"  # survivors not scaled by 1 / (1 - p)
                    "    if not 0 <= p <= 1:\n        raise ValueError(f'p must be in [0, 1], got {p}')\n"
                    "    if not training:\n        return x\n"
                    "    return x * (torch.rand(x.shape, generator=generator, dtype=x.dtype) >= p)",
         "EarlyStopping": "import math\n\nclass EarlyStopping:\n"  # a loss equal to the best counts as better
                          "    def __init__(self, patience=3, min_delta=0.0):\n"
                          "        self.patience, self.min_delta = patience, min_delta\n"
                          "        self.best_loss, self.best_epoch, self.bad, self.calls = math.inf, -1, 0, 0\n\n"
                          "    def step(self, val_loss):\n"
                          "        if val_loss <= self.best_loss - self.min_delta:\n"
                          "            self.best_loss, self.best_epoch, self.bad = val_loss, self.calls, 0\n"
                          "        else:\n            self.bad += 1\n"
                          "        self.calls += 1\n        return self.bad >= self.patience"},
        {"test_dropout", "test_EarlyStopping"}, 3),
}

# Assignments whose partial submission is also handed in in Chinese, as `partial_zh`: the same
# score, and feedback in Chinese.
IN_CHINESE = ("02_activations", "06_mlp")


def read(path: Path):
    return nbformat.read(path, as_version=4)


def cells_by_id(nb) -> dict:
    return {c.metadata["nbgrader"]["grade_id"]: c for c in nb.cells if "nbgrader" in c.metadata}


def points_of(assignment: str) -> dict[str, float]:
    """Autograded test cell -> points, from the source notebook."""
    return {key: cell.metadata["nbgrader"]["points"] for key, cell in
            cells_by_id(read(EXERCISES / "source" / assignment / f"{assignment}.ipynb")).items()
            if cell.metadata["nbgrader"]["grade"] and not cell.metadata["nbgrader"]["solution"]}


def submit(course: Path, assignment: str, student: str, replace: dict, damage: str | None = None,
           blank: bool = False, language: str | None = None) -> None:
    """The release (translated into `language`) with the source's solutions filled in (unless
    blank), then replace and damage."""
    released = course / language if language else course / "release"
    nb = read(released / assignment / f"{assignment}.ipynb")
    solutions = cells_by_id(read(course / "source" / assignment / f"{assignment}.ipynb"))
    for key, cell in cells_by_id(nb).items():
        if cell.metadata["nbgrader"]["solution"] and not blank:
            cell.source = solutions[key].source
        if key in replace:
            cell.source = replace[key]
    if damage == "tamper":  # the learner "passes" test_step by editing it and deletes another test
        cells_by_id(nb)["test_step"].source = "pass"
        nb.cells.remove(cells_by_id(nb)["test_leaky_relu"])
    folder = course / "submitted" / student / assignment
    folder.mkdir(parents=True)
    target = folder / f"{assignment}.ipynb"
    if damage == "rename":
        target = folder / f"{assignment} (1).ipynb"
    if damage == "delete":
        (folder / "notes.txt").write_text("forgot to attach the notebook")
        return
    nbformat.write(nb, target)
    if damage == "truncate":
        target.write_text(target.read_text()[:2000])


def run(command: list[str], cwd: Path, timeout: float = 600) -> str:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=ENV, check=False)
    assert done.returncode == 0, f"{' '.join(map(str, command))} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


def in_parallel(commands: list[list[str]], cwd: Path, jobs: int = 2) -> None:
    for i in range(0, len(commands), jobs):
        running = [subprocess.Popen(c, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=ENV)
                   for c in commands[i:i + jobs]]
        for command, process in zip(commands[i:i + jobs], running):
            output = process.communicate(timeout=600)[0]
            assert process.returncode == 0, f"{' '.join(command)} failed:\n{output}"


def new_course(parent: Path, assignment: str, nbgrader_options: tuple[str, ...] = ()) -> Path:
    """A copy of exercises/ with one assignment generated into a fresh gradebook."""
    course = parent / "exercises"
    shutil.copytree(EXERCISES, course, ignore=NOT_COPIED)
    run([*NBGRADER, "generate_assignment", assignment, "--force", *nbgrader_options], course)
    return course


def submit_kind(course: Path, assignment: str, student: str, kind: str) -> float:
    """Hand in the source's solutions ("reference"), the release as is ("blank") or PARTIAL's
    ("partial") as `student`; return the autograded score it must get."""
    if kind == "partial":
        replace, _, score = PARTIAL[assignment]
        submit(course, assignment, student, replace)
        return score
    submit(course, assignment, student, {}, blank=kind == "blank")
    return sum(points_of(assignment).values()) if kind == "reference" else 0
