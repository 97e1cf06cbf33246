import numpy as np
import pytest

from vcm.codec import QPMap, QPMapArray, grid_shape
from vcm.errors import InputError


def test_grid_shape_rounds_up() -> None:
    assert grid_shape(768, 576) == (36, 48)
    assert grid_shape(721, 403) == (26, 46)


def test_from_blocks_takes_most_frequent_as_base() -> None:
    blocks = np.full((2, 3), 40)
    blocks[0, 0] = 20
    qp_map = QPMap.from_blocks(blocks)
    assert qp_map.base == 40
    assert qp_map.mean_qp() == pytest.approx((20 + 5 * 40) / 6)


@pytest.mark.parametrize("bad", [np.full((2, 3), 52), np.full((2, 3), -1)])
def test_out_of_range_blocks_are_rejected(bad: np.ndarray) -> None:
    with pytest.raises(InputError, match=r"outside 0\.\.51"):
        QPMap.from_blocks(bad)


def test_base_out_of_range() -> None:
    with pytest.raises(InputError, match="base QP"):
        QPMap(base=60)


def test_non_integer_blocks_are_rejected() -> None:
    with pytest.raises(InputError, match="integers"):
        QPMap(base=30, blocks=np.full((2, 2), 30.5))


def test_dense_checks_grid() -> None:
    qp_map = QPMap(base=30, blocks=np.full((2, 3), 30))
    with pytest.raises(InputError, match="does not match"):
        qp_map.dense(3, 3)
    assert QPMap(base=33).dense(2, 2).tolist() == [[33, 33], [33, 33]]


def test_array_shapes() -> None:
    every = QPMapArray(np.full((26, 46), 35), 721, 403)
    assert every.frames is None and every[3].base == 35
    per_frame = QPMapArray(np.stack([np.full((26, 46), qp) for qp in (20, 30)]), 721, 403)
    assert per_frame.frames == 2 and [per_frame[i].base for i in range(2)] == [20, 30]
    with pytest.raises(InputError, match="has 2 frames"):
        per_frame[2]
    with pytest.raises(InputError, match="does not fit"):
        QPMapArray(np.full((26, 45), 35), 721, 403)
    with pytest.raises(InputError, match=r"outside 0\.\.51"):
        QPMapArray(np.full((26, 46), 52), 721, 403)
    with pytest.raises(InputError, match="integers"):
        QPMapArray(np.full((26, 46), 30.5), 721, 403)
