"""What the grader replays of a notebook (course_grader/replay.py): its steps, the groups of
graded names replayed together, the kernels each group's replay bans, and how long a call may take."""
from __future__ import annotations

from course_grader.kernel_extension import cell_key
from course_grader.replay_client import Step
from course_lib import _guard
from course_lib._ban import ban_targets
from course_lib._forbidden import compile_forbidden
from course_lib.exercise_rules import BUILT_ON_TWINS, FORBIDDEN, TIME_LIMITS


def replay_steps(nb, cells: dict, skipped_cells: dict) -> tuple[list[Step], dict[str, int]]:
    """The replay's program: every code cell in order, a test cell with a sealed hidden test as
    a test step; (steps, graded name -> its step). Other test cells, and cells the class command
    skips (they killed or hung an earlier grading run), are left out."""
    tested = {id(cell): name for name, cell in cells.items()}
    steps, index = [], {}
    for cell in nb.cells:
        if cell.cell_type != "code" or cell_key(cell.source) in skipped_cells:
            continue
        meta = cell.metadata.get("nbgrader", {})
        if id(cell) in tested:
            index[tested[id(cell)]] = len(steps)
            steps.append(Step("test", cell.source, tested[id(cell)]))
        elif not (meta.get("grade") and not meta.get("solution")):
            steps.append(Step("code", cell.source))
    return steps, index


def _ban_targets_of(name: str) -> tuple:
    """The operator kernels of name's twins: from the rules as this process read them, never from
    the replay, where the notebook's code runs."""
    return ban_targets(compile_forbidden(FORBIDDEN.get(name, ()))[0])


def ban_of(names) -> tuple:
    """The kernels a replay bans for good when it tests these names: all their twins."""
    return tuple(dict.fromkeys(target for name in names for target in _ban_targets_of(name)))


def replay_groups(names: list[str]) -> list[list[str]]:
    """The tested names, in replays of their own: the names built on other names' twins
    (exercise_rules.BUILT_ON_TWINS) apart from those whose twins are banned."""
    apart = [name for name in names if name in BUILT_ON_TWINS]
    rest = [name for name in names if name not in BUILT_ON_TWINS]
    return [group for group in (rest, apart) if group]


def call_seconds(name: str) -> float:
    return max(_guard.TIME_LIMIT, TIME_LIMITS.get(name, 0)) + 1
