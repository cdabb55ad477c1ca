"""`python -m conformance.cli` is the `conformance` command."""

import sys

from conformance.cli import main

sys.exit(main())
