"""crimecheck: checks police incident records against the Home Office Crime Recording Rules."""

__version__ = "0.1.0"
