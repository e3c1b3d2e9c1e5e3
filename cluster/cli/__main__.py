"""``python -m cluster.cli``: the ``fleet`` command without its console script."""

from __future__ import annotations

import sys

from cluster.cli import main

sys.exit(main())
