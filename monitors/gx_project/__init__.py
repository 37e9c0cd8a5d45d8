"""The committed GX file context (``gx/``): set-up, safe opening, and the checkpoint actions.

The actions run inside ``checkpoint.run()`` and call the later stages: record findings, send
alerts, write the docs index. May import: every package above (``checks``, ``findings``,
``alerts``, ``docs``) and ``balancewatch``.
"""
