"""The benchmark: the pipeline's stages, as a user runs them, next to the SQLite floor.

``python -m bench --preset tiny|small|medium|full`` generates deterministic data with the project's
generator, runs ``balancewatch load``, ``build`` and ``monitor`` on a fresh warehouse (one
subprocess each), measures wall time, rows per second and peak RSS, measures the floor (the
``sqlite3`` shell's ``.import`` and one hand-written SQL statement per stage) on the same data, then
a one-day follow-up delivery through ``balancewatch run``, and prints and saves the report.
"""
