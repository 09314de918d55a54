from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from triage_app.files import safe_component


def test_valid_uids_map_to_themselves() -> None:
    assert safe_component("1.2.840.113619.2.55.3.604688119") == "1.2.840.113619.2.55.3.604688119"


@given(st.text(min_size=1, max_size=100))
def test_no_uid_escapes_or_collides(uid: str) -> None:
    component = safe_component(uid)
    assert component and "/" not in component and "\\" not in component and "\0" not in component
    assert component not in (".", "..") and not component.startswith(".")
    root = Path("/store")
    assert (root / component / component).resolve().parent.parent == root
    if component == uid:
        assert all(c.isalnum() or c in "._-" for c in uid)


def test_different_crafted_uids_do_not_collide() -> None:
    assert safe_component("a/b") != safe_component("a\\b")
    assert safe_component("..") != safe_component("...")
