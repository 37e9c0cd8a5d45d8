"""What GX evaluates: the custom expectations, the three suites, and which rows a run checks.

May import: ``balancewatch``, Great Expectations, SQLAlchemy; nothing else of ``monitors``.
"""
