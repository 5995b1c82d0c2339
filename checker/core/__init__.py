"""core: what every stage shares and nothing else: the incident record contract (models), located
problems and errors (errors), times (times) and the strict base of every configuration model
(strict). Imports nothing from checker outside itself.
"""
