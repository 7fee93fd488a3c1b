"""Data for the lessons: MNIST read straight from its files, a fast in-memory loader, toy sets.

    from course_lib.data import load_mnist, TensorLoader, two_moons
"""
from course_lib.data.loader import TensorLoader
from course_lib.data.mnist import (CLASSES, MNIST_FILES, MNIST_MEAN, MNIST_STD, DatasetNotFoundError,
                                   cache_dir, load_mnist, mnist_dataset)
from course_lib.data.toy import blobs, noisy_line, noisy_polynomial, spirals, two_moons, xor

__all__ = ["TensorLoader", "CLASSES", "MNIST_FILES", "MNIST_MEAN", "MNIST_STD", "DatasetNotFoundError",
           "cache_dir", "load_mnist", "mnist_dataset", "blobs", "noisy_line", "noisy_polynomial",
           "spirals", "two_moons", "xor"]
