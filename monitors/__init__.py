"""The balance monitor: GX checks on the warehouse, the alerts they find, and where they go.

A record's path through it, one package a stage; a package imports only from the packages
above it in this list (``tests/test_layout.py`` holds every module to it):

1. ``monitors.checks``     -- what GX evaluates: custom expectations, suites, the run's scope.
2. ``monitors.findings``   -- what a run found and keeps: typed results, watermark, alert records.
3. ``monitors.alerts``     -- what is said and where it goes: digest, console, Slack.
4. ``monitors.docs``       -- the Data Docs site: run reports, an offline index, its assets.
5. ``monitors.gx_project`` -- the committed GX file context and its checkpoint actions, which
   call 2-4 from inside ``checkpoint.run()``.

``monitors.run`` is the entry point (``balancewatch monitor``) and may import all of them.
"""
