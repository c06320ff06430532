"""``python -m flowopt.cli``: the same as the ``flowopt`` command."""

import sys

from . import main

sys.exit(main())
