"""nbgrader configuration for the repository itself (instructor side; the course's notebooks are in course/).

A class is graded in a course directory made by `python -m autograder course init DIR`, whose own
nbgrader_config.py applies the same settings (autograder/nbgrader_settings.py).
"""
from autograder.nbgrader_settings import configure

configure(get_config(), source_directory="course")  # noqa: F821 (get_config is provided by nbgrader)
