"""The course's tools around the notebooks: the course and its nbgrader settings, releases, the
learner's lab and progress, and an instructor's class runs (intake, preparation, grading, feedback,
reports)."""
