"""Where the method guide states each rule a method is held to, so every failure names it.

The conformance test (tests/test_conformance.py), the registration check (capabilities.py) and
the query-track linker (engine/query_tracks.py) end their messages with `see(RULE)`: the
section of docs/adding_a_method.md that states the rule, with an in-tree method that follows it
(tests/test_method_guide.py holds each anchor to a heading of the guide).
"""

from __future__ import annotations

GUIDE = "docs/adding_a_method.md"
#: rule -> its section's heading in the guide
RULES = {
    "registration": "Rule: registration",
    "short video": "Rule: short video",
    "per-frame stages": "Rule: per-frame stages",
    "query-track results": "Rule: query-track results",
    "video predictions": "Rule: video predictions from the mean logits",
    "carried state": "Rule: carried state",
    "checkpoint round trip": "Rule: checkpoint round trip",
}


def anchor(heading: str) -> str:
    """A heading's anchor as GitHub and most renderers make it: lower case, spaces to hyphens,
    punctuation but hyphens dropped."""
    kept = "".join(c for c in heading.lower() if c.isalnum() or c in " -_")
    return kept.replace(" ", "-")


def see(rule: str) -> str:
    """`see docs/adding_a_method.md#rule-...`: the end of a message about `rule`."""
    return f"see {GUIDE}#{anchor(RULES[rule])}"
