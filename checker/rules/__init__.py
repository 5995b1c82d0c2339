"""rules: the rule language and the rule set: the fact schema rules may test (facts_schema), the
condition parser and AST (conditions), the pure-Python reference evaluator (evaluate), reference
tables a force may replace (reference), the rule loader (loader) and explanations (explain).
May import checker.narrative, checker.read and checker.core.
"""
