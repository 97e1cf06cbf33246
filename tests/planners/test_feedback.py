"""The closed loop: an object's result on the decoded stream steers its QP offset."""

from vcm.models.detector import Detection
from vcm.planners.feedback import ScoreFeedback

PERSON = (100.0, 100.0, 160.0, 260.0)


def person(score: float, box: tuple[float, float, float, float] = PERSON) -> Detection:
    return Detection(box, score, 0, "person")


def loop(down: int = 4) -> ScoreFeedback:
    feedback = ScoreFeedback(0.7, down, up=1, lowest=-8, highest=3)
    feedback.follow([person(0.8)])
    return feedback


def test_an_object_whose_decoded_decision_flipped_gets_finer() -> None:
    feedback = loop()
    feedback.observe([person(0.8)], [person(0.6)])  # headroom 0.1, lost
    assert feedback.offsets() == [-4]
    feedback.observe([person(0.8)], [])  # not found at all
    feedback.observe([person(0.8)], [])
    assert feedback.offsets() == [-8]  # bounded


def test_an_object_that_keeps_its_decision_with_room_gets_coarser_up_to_the_bound() -> None:
    feedback = loop()
    for _ in range(5):
        feedback.observe([person(0.8)], [person(0.77)])  # drift 0.03 <= half the headroom
    assert feedback.offsets() == [3]


def test_drift_beyond_half_the_headroom_holds_the_offset() -> None:
    feedback = loop()
    feedback.observe([person(0.8)], [person(0.72)])
    assert feedback.offsets() == [0]


def test_a_flip_at_the_threshold_is_noise_and_not_chased() -> None:
    feedback = loop()
    feedback.observe([person(0.72)], [person(0.69)])
    assert feedback.offsets() == [0]


def test_an_unsure_object_that_rose_past_the_threshold_gets_finer() -> None:
    feedback = ScoreFeedback(0.7, 4)
    feedback.follow([person(0.5)])
    feedback.observe([person(0.5)], [person(0.75)])  # a false positive the original does not have
    assert feedback.offsets() == [-4]


def test_offsets_follow_objects_between_detector_passes_and_new_ones_start_at_zero() -> None:
    feedback = loop()
    feedback.observe([person(0.8)], [person(0.5)])
    moved = (104.0, 102.0, 164.0, 262.0)
    elsewhere = (400.0, 100.0, 460.0, 260.0)
    feedback.follow([person(0.9, elsewhere), person(0.8, moved)])
    assert feedback.offsets() == [0, -4]


def test_without_a_down_step_the_loop_is_open() -> None:
    feedback = loop(down=0)
    feedback.observe([person(0.8)], [])
    feedback.observe([person(0.8)], [person(0.8)])
    assert feedback.offsets() == [0]
