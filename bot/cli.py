"""The `citebot` console script: the core commands plus the Discord ones."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from retrieval import cli


def main(argv: Sequence[str] | None = None) -> int:
    """Run citebot's command line."""
    return cli.main(argv)


if __name__ == "__main__":
    sys.exit(main())
