"""course_lib's messages in the learner's language (course_lib/i18n.py): the checks, the guard and the
grader speak Chinese where COURSE_LANG or the notebook says zh, every text they can show has a
translation that keeps its placeholders, and what acts on a failure reads its kind, not its words."""
from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest
import torch

from course_lib import i18n
from course_lib.exercise_checks import expect
from course_lib.grading import GradingError, assert_close
from course_lib.grading.messages import with_crash_hint
from course_lib.i18n import _, _n, fill, shown, speaking

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import translations  # noqa: E402

CJK = re.compile(r"[\u4e00-\u9fff]")
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def catalogs() -> list[Path]:
    return [translations.messages_po("zh"), *(po for notebook, po, _t in translations.lessons("zh")
                                              if notebook.is_relative_to(ROOT / "exercises"))]


def messages_of(po: Path):
    return [m for m in translations.read(po, "zh") if m.id and translations.MESSAGE in m.auto_comments]


def message(raising) -> str:
    with pytest.raises(GradingError) as caught:
        raising()
    return str(caught.value)


def test_english_is_the_source_and_placeholders_are_filled_after_translation():
    assert _("wrong shape: expected {expected}, got {got}", expected=(2, 3), got=(3, 2)) == \
        "wrong shape: expected (2, 3), got (3, 2)"
    assert fill("{a} and {b} and {0, 1}", {"a": "{b}"}) == "{b} and {b} and {0, 1}"  # values are not filled again
    assert _n("{n} check passed", "{n} checks passed", 1) == "1 check passed"
    assert _n("{n} check passed", "{n} checks passed", 4) == "4 checks passed"
    with speaking("zh"):
        translated = _("wrong shape: expected {expected}, got {got}", expected=(2, 3), got=(3, 2))
        assert CJK.search(translated) and "(2, 3)" in translated and "(3, 2)" in translated
        assert CJK.search(_n("{n} check passed", "{n} checks passed", 4)) and "4" in \
            _n("{n} check passed", "{n} checks passed", 4)
        with speaking(None):
            assert _("Test cell") == "Test cell"


@pytest.mark.parametrize("value", ["zh", "zh_CN", "zh-Hans", " ZH "])
def test_course_lang_chooses_the_language(monkeypatch, value):
    monkeypatch.setenv("COURSE_LANG", value)
    assert i18n.language() == "zh"
    for other in ("", "en_US", "../../tmp/x", "zh/../../x", "C.UTF-8"):
        monkeypatch.setenv("COURSE_LANG", other)
        assert i18n.language() == "en", other
    with speaking("/tmp/evil"):
        assert i18n.language() == "en"


@pytest.mark.parametrize("po", catalogs(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_each_translation_keeps_the_placeholders_and_the_edges_of_its_text(po):
    wrong = []
    for entry in messages_of(po):
        ids = entry.id if isinstance(entry.id, tuple) else (entry.id,)
        for text in (entry.string if isinstance(entry.string, tuple) else (entry.string,)):
            if text and set(PLACEHOLDER.findall(text)) != set(PLACEHOLDER.findall(ids[-1])):
                wrong.append(f"placeholders differ: {ids[0]!r} -> {text!r}")
            if text and (text[:1].isspace(), text[-1:].isspace()) != (ids[0][:1].isspace(), ids[0][-1:].isspace()):
                wrong.append(f"spaces at the edges differ (the text is glued to others): {ids[0]!r} -> {text!r}")
    assert not wrong, "\n".join(wrong[:10])


def in_catalog(text: str) -> bool:
    """The Chinese catalog holds text, or a text with placeholders that text fills in."""
    return text in i18n._catalog("zh") or any(p.fullmatch(text) for p, _t in i18n._patterns("zh"))


def test_every_hint_a_hidden_test_can_show_is_translated():
    from course_grader.hidden_test import hidden_test_of
    from course_lib.exercise_checks import new_generator
    from course_lib.exercise_rules import GRADED_TOPIC
    untranslated = set()
    for name in GRADED_TOPIC:
        for case in hidden_test_of(name).cases(new_generator()):
            for key in ("hint", "grad_hint", "connect_hint"):
                if case.get(key) and not in_catalog(case[key]):
                    untranslated.add(f"{name}: {case[key]!r}")
    assert not untranslated, ("hints not in any catalog (mark them with N_ or give them as hint=, then run "
                              "scripts/translations.py update and translate): " + "; ".join(sorted(untranslated)[:5]))


def test_a_hint_written_as_an_f_string_is_found_by_its_pattern():
    english = fill("expected the truth table of {gate}", {"gate": "NAND"})
    assert shown(english) == english
    with speaking("zh"):
        assert CJK.search(shown(english)) and "NAND" in shown(english)
        assert shown("a hint no catalog has") == "a hint no catalog has"


def test_a_long_text_is_looked_up_exactly_only():
    """An attack review's: a pattern with several placeholders takes time that grows fast with the
    text (minutes at a few thousand characters), so only short texts are matched by pattern."""
    short, long = (fill("expected the truth table of {gate}", {"gate": gate}) for gate in ("NAND", "N" * 1000))
    with speaking("zh"):
        assert shown(short) != short and shown(long) == long


def test_a_failed_check_reads_in_chinese_with_the_code_and_numbers_kept(monkeypatch):
    monkeypatch.setenv("COURSE_LANG", "zh")
    text = message(lambda: assert_close(torch.zeros(3, 2), torch.zeros(2, 3), name="relu",
                                        inputs={"z": torch.zeros(2, 3)},
                                        hint="use the negative_slope argument, not a fixed 0.01"))
    first, *rest = text.splitlines()
    assert first.startswith("relu: ") and CJK.search(first) and "(2, 3)" in first and "(3, 2)" in first
    assert CJK.search(rest[0]) and "(2, 3)" in rest[0]  # the input line
    assert "not a fixed" not in text and CJK.search(rest[-1]) and "negative_slope" in rest[-1]  # the hint


def test_what_acts_on_a_failure_reads_its_kind_whatever_the_language():
    hint = "x may be 1-D: one sample"
    for language in ("en", "zh"):
        with speaking(language):
            # a dtype failure drops a hint that is not about dtypes
            err = pytest.raises(GradingError, assert_close, torch.zeros(2, dtype=torch.float64), torch.zeros(2),
                                name="f", hint=hint).value
            assert err.kind == "dtype" and not err.hinted
            # a crash gets the check's hint
            def crashes(x):
                raise IndexError("tuple index out of range")
            err = pytest.raises(GradingError, expect, crashes, torch.zeros(2), to_be=torch.zeros(2), hint=hint).value
            assert err.kind == "crash" and err.hinted and len(str(err).splitlines()[-1]) > 4
            assert with_crash_hint(err, hint) is err  # hinted once
            # a twin is a twin
            def sigmoid(z):
                return torch.sigmoid(z)
            err = pytest.raises(GradingError, expect, sigmoid, torch.zeros(2), to_be=torch.full((2,), 0.5)).value
            assert err.kind == "twin"


def test_the_guard_and_the_passed_checks_line_speak_the_language(monkeypatch, capsys):
    from course_lib import exercise_checks
    monkeypatch.setenv("COURSE_LANG", "zh")

    def relu(z):
        z -= 1
        return z
    text = message(lambda: expect(relu, torch.ones(2), to_be=torch.zeros(2)))
    assert text.startswith("relu: ") and CJK.search(text.splitlines()[0]) and "z" in text
    monkeypatch.setitem(exercise_checks._counting, "on", True)
    exercise_checks._start_cell()
    expect(lambda z: z.clamp(min=0), torch.ones(2), to_be=torch.ones(2))
    exercise_checks._end_cell(type("Result", (), {"success": True})())
    assert CJK.search(capsys.readouterr().out)


def _modules_importing_gettext() -> list[Path]:
    found = []
    for path in sorted([*(ROOT / "course_lib").rglob("*.py"), *(ROOT / "course_grader").rglob("*.py")]):
        if re.search(r"^from course_lib\.i18n import .*\b_\b", path.read_text(), re.M):
            found.append(path)
    return found


@pytest.mark.parametrize("path", _modules_importing_gettext(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_gettext_is_called_with_one_literal_and_never_shadowed(path):
    """A text made at run time is in no catalog, and a `_` bound as a variable (for _ in ...)
    turns every _() of its function into an error."""
    tree = ast.parse(path.read_text())
    wrong = [f"line {node.lineno}: `_` bound as a name" for node in ast.walk(tree)
             if isinstance(node, ast.Name) and node.id == "_" and isinstance(node.ctx, ast.Store)]
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("_", "_n"):
            literals = node.args[:1 if node.func.id == "_" else 2]
            if not literals or not all(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in literals):
                wrong.append(f"line {node.lineno}: {node.func.id}() of {ast.unparse(node)[:60]}: one string literal")
    assert not wrong, "\n".join(wrong)


def test_a_chinese_learner_s_xor_message_passes_like_an_english_one():
    """An attack review's: the check looked for English words only, so the reason written in Chinese,
    as the Chinese exercise asks, cost its points."""
    from course_grader.hidden_tests import neurons
    for message in ("XOR is not linearly separable: it needs a hidden layer", "XOR 线性不可分：没有一条直线能分开它的输入"):
        neurons.check_gate({"args": ("XOR",)}, {"message": message})
    with pytest.raises(GradingError):
        neurons.check_gate({"args": ("XOR",)}, {"message": "不支持 XOR"})
