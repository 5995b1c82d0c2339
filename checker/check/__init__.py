"""check: checking one incident: facts built from the record (facts), the Checker that evaluates the
rules and turns hits into findings and decisions (checker), the versioned JSON document of a
check (document), and the rules' own examples and generated docs (examples, docs).
May import checker.engine and below.
"""
