"""`python -m clusteraccess`: the command line (see clusteraccess.cli)."""

import sys

from .cli import main

sys.exit(main())
