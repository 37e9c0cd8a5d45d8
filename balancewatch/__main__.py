"""``python -m balancewatch`` is the ``balancewatch`` command."""

import sys

from balancewatch.cli import main

sys.exit(main())
