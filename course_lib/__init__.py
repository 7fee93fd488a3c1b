"""course_lib: the reference implementations of the deep-learning fundamentals course.

One module per lesson topic (neurons, activations, losses, gradient_descent, backprop, mlp, cnn,
overfitting, with initialization in lesson 02 and schedules in lesson 04), written from scratch
on tensors and tested against PyTorch, plus the supporting modules autograd, data, training,
plotting and grading. Import what you need:

    from course_lib.activations import relu, softmax
"""

__version__ = "0.1.0"
