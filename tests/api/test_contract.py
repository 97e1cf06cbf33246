"""The contract's number checks: what a camera may send (finite, in range, ASCII digits)."""

import pytest

from vcm.api.contract import DetectionRecord, epoch_seconds, finite, sequence_number, whole
from vcm.errors import InputError

GOOD = {"frame": 2, "time": 1000.5, "class": "person", "score": 0.9, "box": [1, 2, 30, 40]}


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "1e400", float("inf"), float("nan"), True, None,
                                   "x"])
def test_non_finite_or_non_numbers_are_refused(value: object) -> None:
    with pytest.raises(InputError, match="score"):
        finite(value, "score", 0.0, 1.0)


def test_numbers_in_range_pass_and_out_of_range_do_not() -> None:
    assert finite("0.25", "score", 0.0, 1.0) == 0.25
    assert epoch_seconds(1_700_000_000, "time") == 1_700_000_000.0
    for value in (-1, 5e9):
        with pytest.raises(InputError, match="time"):
            epoch_seconds(value, "time")


@pytest.mark.parametrize("text", ["\u00b2", "\u2460", "\u0661", "\uff11", "-1", "+1", " 1", "", "1" * 13,
                                  "1.0"])
def test_segment_numbers_are_ascii_digits_only(text: str) -> None:
    """Superscript two, circled one, Arabic-Indic one, full-width one: isdigit() but not 0-9."""
    with pytest.raises(InputError, match="segment number"):
        sequence_number(text)


def test_a_segment_number_in_ascii_digits_is_read() -> None:
    assert sequence_number("000000000042") == 42


@pytest.mark.parametrize(("value", "taken"), [(3, 3), (3.0, 3), ("7", 7)])
def test_whole_numbers(value: object, taken: int) -> None:
    assert whole(value, "frame", 10) == taken


@pytest.mark.parametrize("value", [1e30, 2**70, -1, 2.5, "²", float("nan")])
def test_whole_refuses_huge_negative_fractional_and_unicode_digits(value: object) -> None:
    with pytest.raises(InputError, match="frame"):
        whole(value, "frame", 10_000_000)


@pytest.mark.parametrize(("field", "value"), [
    ("score", float("inf")), ("score", float("nan")), ("score", 1.5), ("time", float("inf")),
    ("time", -5.0), ("frame", 1e30), ("frame", 2**70), ("box", [0, 0, float("inf"), 1]),
    ("box", [0, 0, 1]), ("box", "1,2,3,4"), ("class", 5), ("class", "")])
def test_a_detection_with_a_bad_field_is_refused(field: str, value: object) -> None:
    with pytest.raises(InputError, match=field):
        DetectionRecord.from_dict({**GOOD, field: value})


def test_a_good_detection_round_trips() -> None:
    record = DetectionRecord.from_dict(GOOD)
    assert record.to_dict() == {**GOOD, "box": [1.0, 2.0, 30.0, 40.0]}
    with pytest.raises(InputError, match="missing"):
        DetectionRecord.from_dict({k: v for k, v in GOOD.items() if k != "time"})
    with pytest.raises(InputError, match="object"):
        DetectionRecord.from_dict([1, 2])
