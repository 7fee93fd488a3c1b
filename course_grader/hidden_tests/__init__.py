"""The hidden tests of the exercises, one module per topic, judged outside the learner's kernel.

Each module registers, for every graded name of its topic, the cases to draw, what the learner's
kernel sends back for a case, and the check the grader runs on it: see course_grader/sealed.py.
An exercise's test cell ends with `sealed_checks(name)`, which runs these.
"""
