"""The fake Discord checks select menus in modals as Discord does (so the 👎 form is checked too)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fakediscord.validation import check_modal, check_modal_values

OPTIONS = [{"label": "Wrong answer", "value": "wrong"}, {"label": "Outdated", "value": "outdated"}]


def modal(*rows: dict[str, Any]) -> dict[str, Any]:
    return {"title": "Why?", "custom_id": "cb:why:1", "components": list(rows)}


def select(**changes: Any) -> dict[str, Any]:
    return {"type": 3, "custom_id": "reason", "options": OPTIONS, "min_values": 1, "max_values": 1} | changes


def codes(data: dict[str, Any]) -> set[str]:

    return {code for _, code, _ in check_modal(data).items}


def test_a_labelled_select_is_accepted() -> None:
    assert codes(modal({"type": 18, "label": "Reason", "component": select(disabled=False)})) == set()


def test_a_select_outside_a_label_is_refused() -> None:
    assert "COMPONENT_TYPE_INVALID" in codes(modal({"type": 1, "components": [select()]}))


def test_a_disabled_select_or_bad_options_are_refused() -> None:
    assert "COMPONENT_DISABLED_IN_MODAL" in codes(
        modal({"type": 18, "label": "R", "component": select(disabled=True)})
    )
    assert codes(modal({"type": 18, "label": "R", "component": select(options=[])}))
    long_label = [{"label": "x" * 101, "value": "x"}]
    assert codes(modal({"type": 18, "label": "R", "component": select(options=long_label)}))
    assert codes(modal({"type": 18, "label": "R", "component": select(max_values=3)}))


def test_submitted_values_must_be_offered_and_counted() -> None:
    data = modal({"type": 18, "label": "Reason", "component": select()})
    check_modal_values(data, {"reason": ["outdated"]})
    with pytest.raises(ValueError, match="not among"):
        check_modal_values(data, {"reason": ["spam"]})
    with pytest.raises(ValueError, match="values picked"):
        check_modal_values(data, {"reason": []})
    optional = modal({"type": 18, "label": "Reason", "component": select(required=False)})
    check_modal_values(optional, {})
