"""`python -m mock_server` is the `mixmock` command."""

import sys

from mock_server.tooling.cli import main

sys.exit(main())
