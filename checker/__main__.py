"""`python -m checker` runs the crimecheck command line."""

from checker.cli.main import entry

entry()
