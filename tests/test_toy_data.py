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


def test_caption_states_every_attribute_of_each_object_in_order():
    for index in range(50):
        attrs = data.attributes(7, index)
        text = data.caption(attrs)
        first, second = text.split(f" {attrs['relation']} ")
        for k, words in ((1, first.split()), (2, second.split())):
            assert words == ["a", attrs[f"size_{k}"], attrs[f"colour_{k}"], attrs[f"shape_{k}"]], (text, attrs)
        assert set(text.split()) <= set(data.vocabulary())
        assert len(text.split()) <= data.max_words()


def test_labels_index_the_attribute_values():
    attrs = {"relation": "above", "size_1": "large", "colour_1": "blue", "shape_1": "triangle",
             "size_2": "small", "colour_2": "red", "shape_2": "circle"}  # fmt: skip
    assert data.labels(attrs) == [1, 1, 2, 2, 0, 0, 0]


def test_drawn_colours_sit_where_the_relation_puts_them():
    attrs = {"relation": "left of", "size_1": "large", "colour_1": "red", "shape_1": "square",
             "size_2": "large", "colour_2": "blue", "shape_2": "square"}  # fmt: skip
    image = data.render(attrs, 32, seed=0, index=0).astype(int)
    left, right = image[12:20, 6:11], image[12:20, 21:26]  # the centres of the two objects
    assert (left[..., 0] > 150).all() and (left[..., 2] < 100).all()
    assert (right[..., 2] > 150).all() and (right[..., 0] < 100).all()
    above = data.render({**attrs, "relation": "above"}, 32, seed=0, index=0).astype(int)
    assert (above[6:11, 12:20, 0] > 150).all() and (above[21:26, 12:20, 2] > 150).all()


def test_index_seed_is_stable_and_distinct():
    assert index_seed(0, 1) == index_seed(0, 1)
    assert len({index_seed(0, i) for i in range(1000)}) == 1000
    assert index_seed(0, 5) != index_seed(1, 5)
    assert 0 <= index_seed("x/noise", 3) < 2**63
