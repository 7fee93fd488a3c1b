"""What the replay (course_grader/replay.py) may send the grader: each kind of message with its
fields and their types, and how big an answer may be. Anything else on the channel is not the
replay's: replay_client.py blames the step that sent it."""
from __future__ import annotations

# message kind -> {field: the types it may have}: anything else on the channel is not the replay's
MESSAGES = {
    "at": {"at": (int,)},
    "cases_for": {"cases_for": (str,)},
    "answers": {"answers": (list,), "twin": (str, type(None)), "replaced_before": (list,), "replaced_during": (list,)},
    "done": {"done": (int,), "error": (str, type(None)), "failure": (str, type(None)), "replaced": (list,),
             "twin": (str, type(None))},
    "end": {"end": (bool,)},
}
MAX_NODES, MAX_DEPTH = 100_000, 32


def kind_of(message: object) -> str | None:
    """The kind of message when it has exactly the fields of a kind, each of its types; else None."""
    if type(message) is dict:
        for kind, fields in MESSAGES.items():
            if message.keys() == fields.keys() and all(type(message[k]) in types for k, types in fields.items()):
                return kind
    return None


def within_bounds(value: object) -> bool:
    """Whether plain data stays under MAX_NODES parts and MAX_DEPTH levels: a structure that shares
    its parts (a tuple of three copies of a tuple of three ...) is counted as if written out."""
    budget = [MAX_NODES]

    def walk(x, depth: int) -> bool:
        budget[0] -= 1
        if budget[0] < 0 or depth > MAX_DEPTH:
            return False
        if type(x) in (list, tuple):
            return all(walk(v, depth + 1) for v in x)
        if type(x) is dict:
            return all(walk(v, depth + 1) for v in x.values())
        return True
    return walk(value, 0)
