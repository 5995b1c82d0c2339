"""narrative: screen free-text incident narratives for phrases suggesting an unrecorded offence.

The screening vocabulary lives in ``rules/lexicon``:

* one ``<family>.yaml`` per offence family (see :class:`FamilyFile`), holding the
  Home Office offence codes the family covers, regex patterns with a worked
  example each, and ``not_examples`` that must never produce a hit;
* ``_cues.yaml`` (see :class:`CuesFile`) holding sentence / clause boundaries,
  shared regex fragments and groups of negation / hypothetical / context cues that
  suppress a match when they govern it.

The screen is tuned for precision: a match is only reported when no cue governs
it, and each family reports at most its first surviving match; given the families an incident
already covers, a match overlapping any match of a covered family does not survive.

Modules: schema (the lexicon files' models), screen (the compiled screen), guard (a prefix guard
that speeds it without changing results), loader (loading and linting, errors as located
Problems). May import checker.read and checker.core.
"""
