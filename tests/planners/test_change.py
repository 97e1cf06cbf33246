import numpy as np

from vcm.planners.change import changed_blocks, luma


def test_a_moving_square_marks_its_blocks_and_a_ring() -> None:
    before = np.full((64, 96, 3), 100, dtype=np.uint8)
    after = before.copy()
    after[16:32, 32:48] = 220  # one 16x16 block brightens
    changed = changed_blocks(luma(before), luma(after), level=8.0)
    assert changed.shape == (4, 6)
    assert changed[1, 2] and changed[0, 1] and changed[2, 3]  # the block and the ring around it
    assert not changed[3, 5] and changed.sum() == 9


def test_noise_below_the_level_is_no_change() -> None:
    rng = np.random.default_rng(0)
    before = rng.integers(90, 110, (48, 50, 3), dtype=np.uint8)  # 50 px: a partial block column
    after = np.clip(before.astype(int) + rng.integers(-3, 4, before.shape), 0, 255).astype(np.uint8)
    assert not changed_blocks(luma(before), luma(after), level=8.0).any()
    assert changed_blocks(luma(before), luma(255 - before), level=8.0, grow=0).all()
