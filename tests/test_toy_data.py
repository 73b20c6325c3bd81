import numpy as np

from ldmscale.seeds import index_seed
from ldmscale.toy import data


def test_items_are_a_function_of_seed_and_index_only():
    whole = data.dataset(seed=3, start=0, count=10, size=32)
    tail = data.dataset(seed=3, start=6, count=4, size=32)
    assert np.array_equal(whole[0][6:], tail[0])
    assert np.array_equal(whole[1][6:], tail[1])
    assert whole[2][6:] == tail[2]
    other = data.dataset(seed=4, start=0, count=10, size=32)
    assert not np.array_equal(whole[0], other[0])


def test_caption_states_every_attribute():
    for index in range(50):
        attrs = data.attributes(7, index)
        words = data.caption(attrs).split()
        for name, value in attrs.items():
            assert value in words, (name, value, words)
        assert set(words) <= set(data.vocabulary())


def test_labels_index_the_attribute_values():
    attrs = {"size": "large", "colour": "blue", "shape": "triangle", "position": "bottom"}
    assert data.labels(attrs) == [1, 2, 2, 3]


def test_drawn_colour_and_position_match_attributes():
    attrs = {"size": "large", "colour": "red", "shape": "square", "position": "left"}
    image = data.render(attrs, 32, seed=0, index=0).astype(int)
    left, right = image[:, :12], image[:, 20:]
    assert left[..., 0].mean() > 2 * right[..., 0].mean()  # the red object sits on the left
    centre = image[14:18, 7:11]
    assert (centre[..., 0] > 150).all() and (centre[..., 1:] < 100).all()


def test_index_seed_is_stable_and_distinct():
    assert index_seed(0, 1) == index_seed(0, 1)
    assert len({index_seed(0, i) for i in range(1000)}) == 1000
    assert index_seed(0, 5) != index_seed(1, 5)
    assert 0 <= index_seed("x/noise", 3) < 2**63
