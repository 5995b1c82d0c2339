"""Package discovery that pyproject.toml cannot say alone.

rules/ stays at the top of the repository, where rule authors and reviewers expect it, and ships
inside the wheel as the package data of checker._rules, so an installed crimecheck has its rules.
"""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["checker", "checker.*"]), "checker._rules"],
    package_dir={"checker._rules": "rules"},
)
