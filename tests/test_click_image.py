"""``ui.click_image``: what the browser reports about a click becomes a point inside the picture, or nothing."""
from __future__ import annotations

import pytest

from ui.click_image import _point

SHAPE = (40, 60, 3)  # height 40, width 60


def test_a_click_inside_is_the_point_clicked():
    assert _point({"x": 12, "y": 34}, SHAPE) == (12, 34)
    assert _point({"x": 59.9, "y": 0}, SHAPE) == (59, 0)


def test_a_point_reported_outside_is_held_to_the_edge():
    """A browser rounds at the border (or a crafted report lies): the point stays within the picture."""
    assert _point({"x": 60, "y": 40}, SHAPE) == (59, 39)
    assert _point({"x": -3, "y": 1e9}, SHAPE) == (0, 39)


@pytest.mark.parametrize("report", [None, {}, {"x": 3}, {"x": "a", "y": 2}, {"x": None, "y": 2}, [3, 4], "3,4",
                                    {"x": float("inf"), "y": 2}, {"x": float("nan"), "y": 2}])
def test_no_click_or_a_malformed_report_is_no_point(report):
    assert _point(report, SHAPE) is None
