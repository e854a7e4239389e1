"""nbgrader configuration for the repository itself (instructor side; the course's notebooks are in course/).

A class is graded in a course directory made by `python -m autograder course init DIR`, whose own
nbgrader_config.py applies the same settings (autograder/classroom/nbgrader_settings.py).
"""
from autograder.classroom.nbgrader_settings import configure

c = get_config()  # noqa: F821 (provided by nbgrader)
configure(c, source_directory="course")
