"""Time every source notebook top to bottom with the reference solutions (what `validate` runs).

    .venv/bin/python bench/notebooks.py [ASSIGNMENT...] [--repeat 3]

Prints the median seconds per notebook. Speed is measured here, never in unit tests.
"""
import argparse
import statistics

from autograder.classroom.course import source_notebooks
from autograder.classroom.notebooks import run_notebook

parser = argparse.ArgumentParser()
parser.add_argument("assignments", nargs="*")
parser.add_argument("--repeat", type=int, default=3)
args = parser.parse_args()
for nb in source_notebooks(args.assignments):
    runs = [run_notebook(nb).seconds for _ in range(args.repeat)]
    print(f"{nb.name:45s} median {statistics.median(runs):6.1f} s  (runs: {', '.join(f'{r:.1f}' for r in runs)})")
