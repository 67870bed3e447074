"""Run `python -m cli ...` as `citebot ...`."""

import sys

from cli.main import main

sys.exit(main())
