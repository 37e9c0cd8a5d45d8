"""The Data Docs site: a static index that works offline, and pruning of old validation results.

May import: the standard library only (it reads GX's stored files, not GX).
"""
