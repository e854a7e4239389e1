"""The trusted side of grading: it holds the references, the hidden cases and the comparison.

``trusted`` (nbgrader's Execute, scoring every grade cell), ``engine`` (runs an exercise's cases
through a worker), ``sandbox`` and ``sandbox_launch`` (the isolated kernel that runs a submission),
``secret`` (the course secret hidden cases are drawn from), ``require_score`` (no score, no points).
Nothing in this folder ever ships to a student.
"""
