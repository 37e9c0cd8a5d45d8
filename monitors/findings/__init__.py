"""What a run found and keeps: GX results as typed values, the watermark, ``balance_alerts``.

May import: ``balancewatch``, ``monitors.checks``; no GX objects leave ``results.py``.
"""
