"""`python -m conformance ...`: the audit's command line."""

import sys

from conformance.cli import main

sys.exit(main())
