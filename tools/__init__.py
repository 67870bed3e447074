"""Maintainer tools: run from the repository root as `.venv/bin/python -m tools.NAME --help`."""
