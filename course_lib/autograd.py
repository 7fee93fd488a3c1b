"""A scalar reverse-mode autograd engine, in the spirit of Karpathy's micrograd.

Every `Value` remembers the Values it was computed from (`_prev`) and a closure (`_backward`)
that applies the chain rule for the one operation that made it: given the output's gradient,
add the local slope times that gradient to each input's `.grad`. `backward()` runs those
closures from the output back to the leaves, each node after every node that uses it. That is
all `torch.autograd` does too, on tensors instead of numbers.
"""
from __future__ import annotations

import math

from course_lib.i18n import _

__all__ = ["Value", "draw_graph"]


class Value:
    """A scalar that records how it was computed, so gradients can flow back through it."""

    __slots__ = ("data", "grad", "_backward", "_prev", "_op", "label")

    def __init__(self, data: float, _children: tuple[Value, ...] = (), _op: str = "", label: str = ""):
        if isinstance(data, bool) or not isinstance(data, (int, float)):
            raise TypeError(_("Value data must be a real number (int or float), got {type} {value}",
                              type=type(data).__name__, value=repr(data)))
        self.data = float(data)
        self.grad = 0.0  # d(output)/d(self), filled in by backward()
        self._backward = lambda grad: None  # leaves have nothing to pass on
        self._prev = tuple(_children)
        self._op = _op
        self.label = label

    def __add__(self, other: Value | float) -> Value:
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other), "+")

        def _backward(grad):  # grad = d(root)/d(out)
            # d(a+b)/da = d(a+b)/db = 1; += because a node may feed several others
            self.grad += grad
            other.grad += grad
        out._backward = _backward
        return out

    def __mul__(self, other: Value | float) -> Value:
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other), "*")

        def _backward(grad):
            self.grad += other.data * grad
            other.grad += self.data * grad
        out._backward = _backward
        return out

    def __pow__(self, n: float) -> Value:
        if isinstance(n, Value):
            raise TypeError(_("Value ** Value is not supported: the exponent must be an int or float "
                              "constant (for a learned exponent write (b * a.log()).exp())"))
        if isinstance(n, bool) or not isinstance(n, (int, float)):
            raise TypeError(_("the exponent must be an int or float, got {type} {value}",
                              type=type(n).__name__, value=repr(n)))
        if self.data < 0 and not float(n).is_integer():
            raise ValueError(_("{base} ** {n} is not a real number: a non-integer power "
                               "needs a non-negative base", base=self.data, n=n))
        if self.data == 0 and n < 0:
            raise ZeroDivisionError(_("0 ** {n} divides by zero (in a / b this means b == 0)", n=n))
        out = Value(self.data ** n, (self,), f"**{n:g}")

        def _backward(grad):
            self.grad += _power_slope(self.data, n) * grad
        out._backward = _backward
        return out

    def __rpow__(self, base: float) -> Value:
        raise TypeError(_("number ** Value is not supported: write (value * math.log(base)).exp()"))

    def exp(self) -> Value:
        try:
            e = math.exp(self.data)
        except OverflowError:  # past x ~ 709; torch returns inf, and so do we
            e = math.inf
        out = Value(e, (self,), "exp")

        def _backward(grad):
            self.grad += e * grad  # d(e^x)/dx = e^x
        out._backward = _backward
        return out

    def log(self) -> Value:
        if self.data <= 0:
            raise ValueError(_("log needs a positive input, got {value}", value=self.data))
        out = Value(math.log(self.data), (self,), "log")

        def _backward(grad):
            self.grad += grad / self.data
        out._backward = _backward
        return out

    def tanh(self) -> Value:
        # math.tanh saturates cleanly to +-1; (e^2x - 1)/(e^2x + 1) would overflow to nan
        t = math.tanh(self.data)
        out = Value(t, (self,), "tanh")

        def _backward(grad):
            self.grad += (1 - t * t) * grad
        out._backward = _backward
        return out

    def sigmoid(self) -> Value:
        # exp(-|x|) never overflows; pick the algebraically equal form that uses it
        e = math.exp(-abs(self.data))
        s = 1 / (1 + e) if self.data >= 0 else e / (1 + e)
        out = Value(s, (self,), "sigmoid")

        def _backward(grad):
            self.grad += s * (1 - s) * grad
        out._backward = _backward
        return out

    def relu(self) -> Value:
        out = Value(self.data if self.data > 0 else 0.0, (self,), "relu")

        def _backward(grad):
            self.grad += (self.data > 0) * grad  # slope 0 at exactly 0, as in torch
        out._backward = _backward
        return out

    def backward(self) -> None:
        """Fill in .grad of every node of the graph: d(self)/d(node).

        Like torch, leaves accumulate across calls (zero them before the next step); interior
        nodes are reset, so calling backward twice doubles leaf gradients and nothing else.
        """
        topo = _topological_order(self)
        for node in topo:
            if node._prev:
                node.grad = 0.0
        self.grad += 1.0  # d(self)/d(self)
        for node in reversed(topo):  # each node after every node that uses it
            node._backward(node.grad)

    def __neg__(self) -> Value:
        return self * -1

    def __sub__(self, other: Value | float) -> Value:
        return self + (-other)

    def __truediv__(self, other: Value | float) -> Value:
        other = other if isinstance(other, Value) else Value(other)
        return self * other ** -1

    def __radd__(self, other: float) -> Value:  # 2 + a
        return self + other

    def __rmul__(self, other: float) -> Value:  # 2 * a
        return self * other

    def __rsub__(self, other: float) -> Value:  # 2 - a
        return Value(other) + (-self)

    def __rtruediv__(self, other: float) -> Value:  # 2 / a
        return Value(other) * self ** -1

    def __repr__(self) -> str:
        label = f", label={self.label!r}" if self.label else ""
        return f"Value(data={self.data:.6g}, grad={self.grad:.6g}{label})"


def _power_slope(x: float, n: float) -> float:
    """d(x**n)/dx = n * x**(n-1), with the limits torch uses where that formula breaks."""
    if n == 0:
        return 0.0
    if x == 0 and n < 1:
        return math.inf  # e.g. sqrt at 0
    return n * x ** (n - 1)


def _topological_order(root: Value) -> list[Value]:
    """Every node reachable from root, children before parents.

    An explicit stack instead of recursion, so a chain of 10,000 additions works too.
    """
    topo, visited = [], set()
    stack = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if children_done:
            topo.append(node)
        elif node not in visited:
            visited.add(node)
            stack.append((node, True))  # revisited after all its children are finished
            stack.extend((child, False) for child in node._prev if child not in visited)
    return topo


def draw_graph(root: Value, ax=None):
    """Draw the computation graph of root with matplotlib, leaves left, root right. Returns the Axes.

    Boxes are Values (label, data, grad); circles are the operations that made them. Run
    root.backward() first to see the gradients.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch

    if not isinstance(root, Value):
        raise TypeError(_("root must be a Value, got {type}", type=type(root).__name__))
    topo = _topological_order(root)
    # A Value sits two columns right of its deepest input, its op in between; a leaf then
    # moves right to just before its first use, so its arrow does not cross the whole graph.
    column = {}
    for node in topo:
        column[node] = 2 + max(column[child] for child in node._prev) if node._prev else 0
    first_use = {}  # leaf -> column of the first Value computed from it
    for node in topo:
        for child in node._prev:
            if not child._prev:
                first_use[child] = min(first_use.get(child, column[node]), column[node])
    column.update({leaf: col - 2 for leaf, col in first_use.items()})
    stacks: dict[int, list] = {}  # column -> what is drawn in it, top to bottom
    for node in topo:
        stacks.setdefault(column[node], []).append((node, "value"))
        if node._op:
            stacks.setdefault(column[node] - 1, []).append((node, "op"))
    xy = {item: (col, (len(items) - 1) / 2 - row)  # each column centred on y = 0
          for col, items in stacks.items() for row, item in enumerate(items)}

    if ax is None:
        width, height = 2.2 * (max(column.values()) + 1), 0.8 * max(map(len, stacks.values())) + 1
        ax = plt.subplots(figsize=(min(width, 30), min(height, 30)))[1]

    def arrow(start, end):
        ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=10,
                                     color="gray", shrinkA=25, shrinkB=12))

    for node in topo:
        text = f"data {node.data:.4g} | grad {node.grad:.4g}"
        ax.text(*xy[node, "value"], f"{node.label} | {text}" if node.label else text, ha="center",
                va="center", fontsize=9, bbox={"boxstyle": "round", "facecolor": "white"})
        if node._op:
            ax.text(*xy[node, "op"], node._op, ha="center", va="center", fontsize=9,
                    bbox={"boxstyle": "circle", "facecolor": "lightyellow", "edgecolor": "gray"})
            for child in node._prev:
                arrow(xy[child, "value"], xy[node, "op"])
            arrow(xy[node, "op"], xy[node, "value"])
    half = max(map(len, stacks.values())) / 2
    ax.set_xlim(min(column.values()) - 1, max(column.values()) + 1)
    ax.set_ylim(-half, half)
    ax.axis("off")
    return ax
