"""read: incidents in (JSON, JSON Lines, CSV through a YAML column mapping) and located YAML for
every configuration file. May import checker.core only.
"""
