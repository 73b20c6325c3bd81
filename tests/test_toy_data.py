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


def _centroid(image: np.ndarray, rgb: tuple) -> np.ndarray:
    """Return the (x, y) centroid of the pixels within 60 of colour `rgb`, in pixels."""
    ys, xs = np.nonzero(np.abs(image.astype(int) - rgb).max(-1) < 60)
    return np.array([xs.mean(), ys.mean()])


def test_drawn_colours_sit_where_the_relation_puts_them():
    attrs = {"relation": "left of", "size_1": "large", "colour_1": "red", "shape_1": "square",
             "size_2": "small", "colour_2": "blue", "shape_2": "circle"}  # fmt: skip
    for index in range(20):
        for relation, axis in (("left of", 0), ("above", 1)):
            image = data.render({**attrs, "relation": relation}, 32, seed=0, index=index)
            first, second = _centroid(image, data.RGB["red"]), _centroid(image, data.RGB["blue"])
            assert second[axis] - first[axis] > 4, (relation, index, first, second)
            assert abs(second[1 - axis] - first[1 - axis]) < second[axis] - first[axis], (relation, index)


def test_layout_keeps_objects_apart_inside_the_frame_and_varies():
    rng = np.random.default_rng(0)
    for relation, along in (("left of", 0), ("above", 1)):
        centres = []
        for _ in range(200):
            radii = (rng.uniform(*data.RADII["large"]), rng.uniform(*data.RADII["small"]))
            (a, b) = data.layout(relation, radii, rng)
            for (x, y), r in zip((a, b), radii):
                assert r <= x <= 1 - r and r <= y <= 1 - r
            assert b[along] - a[along] >= sum(radii) + data.GAP
            assert abs(b[1 - along] - a[1 - along]) <= data.SLANT * (b[along] - a[along])
            centres.append(a)
        # what the caption leaves open is really open: the first object's position spreads over the frame
        assert np.std(np.array(centres), axis=0).min() > 0.08


def test_same_caption_different_images():
    attrs = data.attributes(0, 0)
    images = np.stack([data.render(attrs, 32, seed=0, index=i) for i in range(8)]).astype(int)
    assert all(np.abs(images[0] - images[i]).mean() > 5 for i in range(1, 8))


def test_index_seed_is_stable_and_distinct():
    assert index_seed(0, 1) == index_seed(0, 1)
    assert len({index_seed(0, i) for i in range(1000)}) == 1000
    assert index_seed(0, 5) != index_seed(1, 5)
    assert 0 <= index_seed("x/noise", 3) < 2**63
