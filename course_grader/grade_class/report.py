"""What the class command prints when the class is graded, and the histogram of the scores."""
from __future__ import annotations

import math
import statistics
from pathlib import Path

from course_grader.grade_class.run import Run
from course_grader.grade_class.submissions import GRADER_ERROR, Result


def shown(text: str) -> str:
    """text with what a terminal would act on (escapes, carriage returns) written out: a student's
    folder name or a kernel's cell reach the instructor's terminal."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def shown_score(r: Result, width: int = 0) -> str:
    """The score, or "-" where the grader could not vouch for one (nothing was recorded)."""
    return f"{'-' if r.status == GRADER_ERROR else format(r.score, 'g'):>{width}}"


def plot_scores(results: list[Result], assignment: str, path: Path) -> None:
    # Agg without pyplot: no display needed, no global figure state.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    scores = [r.score for r in results]
    top = max(r.max_score for r in results)
    fig = Figure(figsize=(6.4, 3.6))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.hist(scores, bins=[b - 0.5 for b in range(math.ceil(top) + 2)], color="#4c72b0", edgecolor="white")
    ax.axvline(statistics.median(scores), color="#c44e52", linestyle="--",
               label=f"median {statistics.median(scores):g}")
    ax.set(title=f"{assignment}: {len(scores)} submissions", xlabel=f"score (out of {top:g})",
           ylabel="submissions", xlim=(-0.5, math.ceil(top) + 0.5))
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def print_progress(done: int, total: int, r: Result) -> None:
    print(f"  [{done}/{total}] {shown(r.student)}: {shown_score(r)} / {r.max_score:g}, {r.status} ({r.seconds:.1f} s)",
          flush=True)


def print_summary(results: list[Result], earlier: set[str], run: Run) -> None:
    def relative(path: Path) -> Path:
        return path.relative_to(run.course) if path.is_relative_to(run.course) else path

    width = max(len(shown(r.student)) for r in results)
    for r in results:
        manual = " + manual" if r.needs_manual_grade else ""
        again = " (earlier run)" if r.student in earlier else ""
        print(f"{shown(r.student):<{width}}  {shown_score(r, 5)} / {r.max_score:g}{manual:9}  {r.seconds:5.1f} s  "
              f"{r.status}{again}")
        for reason in r.reasons:
            print(f"{'':<{width}}    - {shown(reason)}")
    scored = [r for r in results if r.status != GRADER_ERROR]
    errors = len(results) - len(scored)
    if errors:
        print(f"\ngrader errors: {errors} submission(s) not graded, nothing recorded: fix the cause above "
              f"and run the same command again")
    if scored:
        scores = [r.score for r in scored]
        print(f"\nscores of {len(scores)} submission(s), out of {results[0].max_score:g}: min {min(scores):g}, "
              f"median {statistics.median(scores):g}, mean {statistics.mean(scores):.2f}, max {max(scores):g}")
        plot_scores(scored, run.assignment, run.logs / "scores.png")
        print(f"histogram: {relative(run.logs / 'scores.png')}")
    flagged = [r for r in results if r.flags]
    print(f"flagged: {len(flagged)} submission(s)" + ("" if flagged else ", none"))
    for r in flagged:
        for f in r.flags:
            print(f"  {shown(r.student):<{width}}  {shown(f['kind'])}: {shown(f['detail'])}")
    print(f"logs and summary.json in {relative(run.logs)}")
