"""engine: the durable-rules engine: the compiler from the condition AST to durable-rules' JSON
(compile) and the adapter that drives it (durable, the only module that imports durable).
May import checker.rules and below.
"""
