"""Every graded exercise of the course: one module per notebook, ``nbNN.py`` with a list ``EXERCISES``."""
import importlib
import pkgutil

MODULES = sorted(name for _, name, _ in pkgutil.iter_modules(__path__) if name.startswith("nb"))
ALL = [exercise for name in MODULES for exercise in importlib.import_module(f"{__name__}.{name}").EXERCISES]
