"""The scalar autograd engine against torch.autograd: random expressions, reuse, depth, drawing."""
import math
import random
import sys

import matplotlib
import pytest
import torch
from torch.testing import assert_close

from course_lib.autograd import Value, draw_graph

matplotlib.use("Agg")  # headless: tests draw into memory only
import matplotlib.pyplot as plt  # after choosing the backend


def torch_scalar(x):
    return torch.tensor(x, dtype=torch.float64, requires_grad=True)


def safe(*args):
    return True


# name -> (arity, op, domain check on the Value inputs' data). Each op is written once and
# applied to both a Value and a torch float64 scalar, which share this syntax.
OPS = {
    "add": (2, lambda a, b: a + b, safe),
    "sub": (2, lambda a, b: a - b, safe),
    "mul": (2, lambda a, b: a * b, safe),
    "div": (2, lambda a, b: a / b, lambda a, b: abs(b) > 0.1),
    "neg": (1, lambda a: -a, safe),
    "exp": (1, lambda a: a.exp(), lambda a: a < 5),
    "log": (1, lambda a: a.log(), lambda a: a > 0.1),
    "tanh": (1, lambda a: a.tanh(), safe),
    "relu": (1, lambda a: a.relu(), safe),
    "sigmoid": (1, lambda a: a.sigmoid(), safe),
    "square": (1, lambda a: a ** 2, safe),
    "cube": (1, lambda a: a ** 3, safe),
    "reciprocal": (1, lambda a: a ** -1, lambda a: abs(a) > 0.1),
    "sqrt": (1, lambda a: a ** 0.5, lambda a: a > 0.1),
    "pow-1.5": (1, lambda a: a ** -1.5, lambda a: a > 0.1),
    "radd": (1, lambda a: 1.5 + a, safe),
    "rsub": (1, lambda a: 2 - a, safe),
    "rmul": (1, lambda a: -0.7 * a, safe),
    "rtruediv": (1, lambda a: 3 / a, lambda a: abs(a) > 0.1),
    "add-const": (1, lambda a: a + 0.5, safe),
    "sub-const": (1, lambda a: a - 0.25, safe),
    "div-const": (1, lambda a: a / 4, safe),
}


def random_expression(rng, leaves, depth, used, force_op=False):
    """A random tree over `leaves`, built at once as (Value, torch scalar). `used` counts ops."""
    if depth == 0 or (not force_op and rng.random() < 0.1):
        return rng.choice(leaves)
    # half binary, so trees branch and leaves get reused
    name = rng.choice([n for n in OPS if OPS[n][0] == (2 if rng.random() < 0.5 else 1)])
    arity, op, domain_ok = OPS[name]
    args = [random_expression(rng, leaves, depth - 1, used) for _ in range(arity)]
    if not domain_ok(*(v.data for v, _ in args)):
        name, args = "tanh", args[:1]  # tanh is defined everywhere
        op = OPS["tanh"][1]
    used[name] = used.get(name, 0) + 1
    v, t = op(*(v for v, _ in args)), op(*(t for _, t in args))
    if abs(v.data) > 100:  # keep magnitudes where a float64 comparison means something
        v, t = v.tanh(), t.tanh()
    return v, t


SEEDS = range(200)  # 200 random trees, about 1,900 nodes in all


def build(seed, used=None):
    rng = random.Random(seed)
    leaves = [(Value(x, label=f"x{i}"), torch_scalar(x))
              for i, x in enumerate(rng.uniform(-2, 2) for _ in range(rng.randint(1, 4)))]
    root = random_expression(rng, leaves, rng.randint(2, 6), {} if used is None else used, force_op=True)
    return root, leaves


@pytest.mark.parametrize("seed", SEEDS)
def test_random_expression_value_and_leaf_grads_match_torch(seed):
    (v, t), leaves = build(seed)
    v.backward()
    t.backward()
    assert_close(torch.tensor(v.data, dtype=torch.float64), t.detach(), msg="forward value differs")
    ours = torch.tensor([leaf.grad for leaf, _ in leaves], dtype=torch.float64)
    theirs = torch.stack([tl.grad if tl.grad is not None else torch.zeros((), dtype=torch.float64)
                          for _, tl in leaves])
    assert_close(ours, theirs, msg=lambda m: f"leaf gradients differ for seed {seed}\n{m}")


def test_random_expressions_exercise_every_op():
    used = {}
    for seed in SEEDS:
        build(seed, used)
    missing = set(OPS) - set(used)
    assert not missing, f"the random expressions never used {missing}; widen the generator"


@pytest.mark.parametrize("expr,expected_grad", [
    (lambda a: a * a, lambda x: 2 * x),
    (lambda a: a + a, lambda x: 2.0),
    (lambda a: a * a * a - a, lambda x: 3 * x ** 2 - 1),
    (lambda a: (a + 1) * (a - 1) / a, lambda x: 1 + 1 / x ** 2),
], ids=["a*a", "a+a", "a*a*a-a", "(a+1)(a-1)/a"])
def test_reused_node_accumulates_gradient_from_every_use(expr, expected_grad):
    a = Value(1.7)
    expr(a).backward()
    assert a.grad == pytest.approx(expected_grad(1.7), rel=1e-12)


def test_second_backward_doubles_leaf_grads_like_torch():
    a, b = Value(0.3), Value(-1.2)
    ta, tb = torch_scalar(0.3), torch_scalar(-1.2)
    out, tout = (a * b).tanh() + a, (ta * tb).tanh() + ta
    for _ in range(2):
        out.backward()
        tout.backward(retain_graph=True)
    assert_close(torch.tensor([a.grad, b.grad], dtype=torch.float64), torch.stack([ta.grad, tb.grad]))


def test_deep_chain_of_5000_additions_needs_no_recursion():
    assert sys.getrecursionlimit() < 5000, "the test only proves something below the recursion limit"
    x = Value(0.5)
    y = x
    for _ in range(5000):
        y = y + x
    y.backward()
    assert y.data == pytest.approx(0.5 * 5001)
    assert x.grad == 5001.0


def test_deep_chain_of_tanh_matches_torch():
    x, tx = Value(0.9), torch_scalar(0.9)
    y, ty = x, tx
    for _ in range(3000):
        y, ty = (y * 1.001).tanh(), (ty * 1.001).tanh()
    y.backward()
    ty.backward()
    assert_close(torch.tensor([y.data, x.grad], dtype=torch.float64), torch.stack([ty.detach(), tx.grad]))


@pytest.mark.parametrize("x", [-1e4, -800.0, -40.0, 0.0, 40.0, 800.0, 1e4])
@pytest.mark.parametrize("name", ["tanh", "sigmoid"])
def test_tanh_and_sigmoid_stay_finite_for_huge_inputs(name, x):
    a, ta = Value(x), torch_scalar(x)
    out, t_out = getattr(a, name)(), getattr(ta, name)()
    out.backward()
    t_out.backward()
    assert math.isfinite(out.data) and math.isfinite(a.grad), f"{name}({x}) gave {out}, grad {a.grad}"
    assert_close(torch.tensor([out.data, a.grad], dtype=torch.float64), torch.stack([t_out.detach(), ta.grad]))


def test_exp_overflows_to_inf_like_torch():
    assert Value(1000.0).exp().data == math.inf == torch.tensor(1000.0, dtype=torch.float64).exp().item()


@pytest.mark.parametrize("x,n", [(0.0, 0.5), (0.0, 2), (0.0, 0), (3.0, 0), (-2.0, 3), (-2.0, -2)])
def test_power_gradient_matches_torch_at_edge_points(x, n):
    a, t = Value(x), torch_scalar(x)
    (a ** n).backward()
    (t ** n).backward()
    assert_close(torch.tensor(a.grad, dtype=torch.float64), t.grad)


def test_relu_grad_at_zero_is_zero():
    a = Value(0.0)
    a.relu().backward()
    assert a.grad == 0.0


ERRORS = {
    "log-of-zero": (lambda: Value(0.0).log(), ValueError, r"log needs a positive input, got 0.0"),
    "log-of-negative": (lambda: Value(-1.0).log(), ValueError, r"log needs a positive input, got -1.0"),
    "value-power-value": (lambda: Value(2.0) ** Value(3.0), TypeError, r"Value \*\* Value is not supported"),
    "number-power-value": (lambda: 2 ** Value(3.0), TypeError, r"number \*\* Value is not supported"),
    "power-by-str": (lambda: Value(2.0) ** "2", TypeError, r"exponent must be an int or float, got str"),
    "fractional-power-of-negative": (lambda: Value(-2.0) ** 0.5, ValueError, r"non-integer power needs a non-negative base"),
    "divide-by-zero-value": (lambda: Value(1.0) / Value(0.0), ZeroDivisionError, r"b == 0"),
    "number-divided-by-zero": (lambda: 1 / Value(0.0), ZeroDivisionError, r"divides by zero"),
    "data-str": (lambda: Value("3"), TypeError, r"Value data must be a real number .* got str '3'"),
    "add-str": (lambda: Value(1.0) + "a", TypeError, r"Value data must be a real number"),
    "draw-non-value": (lambda: draw_graph(1.0), TypeError, r"root must be a Value, got float"),
}


@pytest.mark.parametrize("name", ERRORS)
def test_bad_input_raises_clear_error(name):
    call, error, match = ERRORS[name]
    with pytest.raises(error, match=match):
        call()


def reachable(root):
    """Nodes of the graph, by a plain recursive walk (fine for the small graphs drawn here)."""
    seen = {}

    def visit(node):
        if id(node) not in seen:
            seen[id(node)] = node
            for child in node._prev:
                visit(child)
    visit(root)
    return list(seen.values())


@pytest.mark.parametrize("seed", [0, 3, 7])
def test_draw_graph_draws_one_box_per_value_and_one_circle_per_op(seed):
    (root, _), _ = build(seed)
    root.label = "out"
    root.backward()
    ax = draw_graph(root)
    nodes = reachable(root)
    ops = [n for n in nodes if n._op]
    assert len(ax.texts) == len(nodes) + len(ops)
    assert len(ax.patches) == sum(len(n._prev) + 1 for n in ops), "one arrow per input and per output"
    assert any(t.get_text() == f"out | data {root.data:.4g} | grad 1" for t in ax.texts)
    plt.close(ax.figure)


def test_draw_graph_puts_leaves_left_of_root_and_uses_the_given_axes():
    a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    out = (a * b + a).tanh()
    out.label = "out"
    fig, ax = plt.subplots()
    assert draw_graph(out, ax=ax) is ax
    x_of = {t.get_text().split(" |")[0]: t.get_position()[0] for t in ax.texts}
    assert x_of["a"] < x_of["tanh"] < x_of["out"] and x_of["b"] < x_of["out"]
    plt.close(fig)
