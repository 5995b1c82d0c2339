"""crimecheck: checks police incident records against the Home Office Crime Recording Rules.

The package is arranged by stage, and imports go one way only, downwards (enforced by
import-linter, see pyproject.toml, and by tests/test_architecture.py):

    cli        the command line
    serve      the HTTP service (when present)
    audit      batches: rows, tally, figures, report
    check      one incident: facts, findings, decisions
    engine     durable-rules: compiler and adapter
    rules      rule language, loader, reference tables
    narrative  the narrative screen and its lexicon
    read       incidents and YAML in
    core       the record contract, errors, times
"""

__version__ = "0.1.0"
