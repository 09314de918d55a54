from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from model.study_types import OTHER, STUDY_TYPES, map_study_type, study_type_from_text


@pytest.mark.parametrize(
    ("body_part", "descriptions", "expected"),
    [
        ("WRIST", [], "WRIST"),
        ("HAND", ["XR WRIST 3V"], "HAND"),  # Body Part Examined wins
        (None, ["XR WRIST 3V"], "WRIST"),
        ("", ["HAND PA LAT"], "HAND"),
        (None, ["L FINGER"], "FINGER"),
        (None, [None, "R THUMB 2V"], "FINGER"),
        ("EXTREMITY", [None, None, "XR SHLDR 2V"], "SHOULDER"),
        ("ARM", ["UPPER ARM AP/LAT"], "HUMERUS"),
        (None, ["FORE-ARM 2 VIEWS"], "FOREARM"),
        (None, ["RADIUS ULNA"], "FOREARM"),
        (None, ["xr elbow left"], "ELBOW"),
        ("CHEST", ["THORAX PA"], OTHER),
        (None, ["MAINTENANCE QA"], OTHER),  # "MAIN" (French: hand) only as a word
        (None, [], OTHER),
        ("EXTREMITY", ["Non-ossifying fibroma of distal tibia"], OTHER),
    ],
)
def test_mapping(body_part, descriptions, expected) -> None:
    assert map_study_type(body_part, descriptions) == expected


def test_first_named_part_wins() -> None:
    assert study_type_from_text("HAND AND WRIST") == "HAND"
    assert study_type_from_text("WRIST AND HAND") == "WRIST"


@given(st.text(max_size=80), st.lists(st.one_of(st.none(), st.text(max_size=80)), max_size=3))
def test_any_header_text_maps_to_a_known_type(body_part: str, descriptions: list[str | None]) -> None:
    assert map_study_type(body_part, descriptions) in (*STUDY_TYPES, OTHER)
