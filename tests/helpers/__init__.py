"""Shared test helpers, imported as ``helpers`` (``from helpers.env import use_env``).

A package rather than names imported from ``conftest``: pytest loads every conftest.py itself,
and a test module importing one by name gets a second copy of it.
"""
