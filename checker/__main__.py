"""`python -m checker` runs the crimecheck command line."""

from checker.cli import entry

entry()
