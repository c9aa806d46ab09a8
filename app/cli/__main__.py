"""`python -m app.cli`: the `instance-gateway` command."""

import sys

from app.cli.main import main

sys.exit(main())
