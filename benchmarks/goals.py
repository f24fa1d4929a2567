"""The speed goals, judged at 1 megapixel as fractions of the reference's end-to-end time: every
architecture at most half of it, the fastest at most a tenth, the flagship at most a fifth (issue 23:
its quality may not be bought with time), and pre- plus post-processing at most a quarter of each
model's own end-to-end time."""
from __future__ import annotations

from benchmarks.measure import REFERENCE, size_key
from colorizer import FLAGSHIP

__all__ = ["GOAL_SIZE_MP", "GOAL_EVERY", "GOAL_FASTEST", "GOAL_FLAGSHIP", "GOAL_PRE_POST_SHARE", "goal_check"]

GOAL_SIZE_MP = 1.0
GOAL_EVERY = 0.5
GOAL_FASTEST = 0.1
GOAL_FLAGSHIP = 0.2
GOAL_PRE_POST_SHARE = 0.25


def goal_check(result: dict) -> dict:
    """The speed goals met or not by ``result`` (see the module docstring) → a JSON-able dict."""
    key = size_key(GOAL_SIZE_MP)
    models = result["models"]
    if key not in models[REFERENCE]["sizes"]:
        return {"size_mp": GOAL_SIZE_MP, "measured": False}
    ratios = {name: data["ratios"]["sizes"][key]["end_to_end_ms"] for name, data in models.items() if name != REFERENCE}
    shares = {name: data["sizes"][key]["pre_post_share"] for name, data in models.items() if name != REFERENCE}
    if not ratios:
        return {"size_mp": GOAL_SIZE_MP, "measured": False}
    fastest = min(ratios, key=ratios.get)
    return {
        "size_mp": GOAL_SIZE_MP, "measured": True, "ratios": ratios,
        "every_within_half": all(r <= GOAL_EVERY for r in ratios.values()),
        "fastest": fastest, "fastest_within_tenth": ratios[fastest] <= GOAL_FASTEST,
        # None where the run left the flagship out.
        "flagship": FLAGSHIP, "flagship_within_fifth": ratios[FLAGSHIP] <= GOAL_FLAGSHIP if FLAGSHIP in ratios else None,
        "pre_post_shares": shares, "pre_post_within_quarter": {n: s <= GOAL_PRE_POST_SHARE for n, s in shares.items()},
    }

