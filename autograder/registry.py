"""Look up an exercise by its id, e.g. ``"01.dense_forward"``."""
from __future__ import annotations

from autograder.exercise import Exercise
from autograder.exercises import ALL

EXERCISES: dict[str, Exercise] = {exercise.id: exercise for exercise in ALL}


class UnknownExercise(KeyError):
    def __str__(self) -> str:
        return f"no exercise called {self.args[0]!r}; known: {', '.join(sorted(EXERCISES))}"


def get(exercise_id: str) -> Exercise:
    try:
        return EXERCISES[exercise_id]
    except KeyError:
        raise UnknownExercise(exercise_id) from None
