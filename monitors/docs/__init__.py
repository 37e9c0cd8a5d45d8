"""The Data Docs site: one run report per monitor run, an offline index, vendored assets.

May import: ``balancewatch``, ``monitors.findings``, ``monitors.alerts`` (charts); it reads GX's
stored files, never GX itself.
"""
