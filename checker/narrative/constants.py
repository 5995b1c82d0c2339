"""The constants the lexicon's loader and its screen share: kept apart from the file schemas
(checker.narrative.schema) so that screening a narrative does not build the schemas' models."""

from __future__ import annotations

import re

CUES_FILENAME = "_cues.yaml"
"""Name of the shared cue file inside the lexicon directory."""

MAX_SENTENCE_CHARS = 200
"""Maximum length of :attr:`NarrativeHit.sentence`."""


# Matching is case-insensitive because the text is case-folded (see fold) and every
# regex is written in lower case; avoiding re.IGNORECASE lets the regex engine skip
# alternatives by their first character, several times faster on long narratives.
FLAGS = 0
FRAGMENT_REF = re.compile(r"\{\{([A-Za-z_][A-Za-z0-9_]*)\}\}")
FRAGMENT_NAME = re.compile(r"[A-Z][A-Z0-9_]*")
TOKEN = re.compile(r"\w+(?:['\u2019]\w+)*")
WORD_CHAR = re.compile(r"\w")
# Length of the literal prefixes used to guard each family regex (see prefix_guard).
PREFIX_LEN = 4
PREFIX_LIMIT = 5000
# Extra characters after a match start that a clause-boundary lookahead may need
# to see (e.g. ", he" where the boundary's lookahead checks the pronoun).
BOUNDARY_LOOKAHEAD = 64
# Narratives a Lexicon screens before it builds its Hyperscan prefilter (checker.narrative.prefilter):
# a `check` of a few incidents never pays for it, a batch does within its first second.
PREFILTER_AFTER = 200
