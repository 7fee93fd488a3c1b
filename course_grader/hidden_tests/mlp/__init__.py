"""Hidden tests of 06_mlp: MLP, train_one_epoch and evaluate_accuracy.

A model, a loader, a loss or an optimizer cannot cross from the grader to the learner's kernel, so
a case describes them: layers from LAYERS with a state_dict, the data and a batch size, a loss and
an optimizer named from fixed menus. `respond` rebuilds them in the kernel with torch alone, runs
the learner's code and reports plain data: outputs, the state after the call, and what a Probe
layer saw. The grader rebuilds the same model from the case and runs course_lib.mlp's reference.

Training mode is also judged by value: a batch-norm layer normalizes with the batch's statistics
and updates its running statistics only in training mode, so the state after the call tells
whether the model was in the right mode, whatever the probe reports.

One module per graded name (model.py holds MLP's); _rebuild.py turns a case back into its objects.
Importing this package registers all three hidden tests (course_grader.sealed.hidden_test_of).
"""
# Imported for their registrations.
from course_grader.hidden_tests.mlp import evaluate_accuracy, model, train_one_epoch  # noqa: F401
