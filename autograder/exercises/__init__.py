"""Every graded exercise of the course, one module per notebook."""
from autograder.exercises import nb01

ALL = [*nb01.EXERCISES]
