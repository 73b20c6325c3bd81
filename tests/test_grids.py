import numpy as np

from ldmscale import grids

MODELS, STEPS, K, CELL = ["a", "b"], [2, 8], 3, 20


def colour(model: int, steps: int, image: int) -> list[int]:
    return [60 * model + 40, 30 * steps + 20, 70 * image + 10]


def where(grid: np.ndarray, rgb: list[int]) -> tuple[np.ndarray, np.ndarray]:
    return np.nonzero((grid == rgb).all(-1))


def test_each_cell_holds_its_models_and_steps_images_in_order():
    cells = {
        (m, s): np.stack([np.full((8, 8, 3), colour(i, j, n), np.uint8) for n in range(K)])
        for i, m in enumerate(MODELS)
        for j, s in enumerate(STEPS)
    }
    grid = np.asarray(grids.grid(cells, MODELS, STEPS, CELL, "1. a prompt\n2. another\n3. a third"))
    ys, xs = where(grid, colour(1, 1, 2))  # model b, 8 steps, third image: one CELL × CELL square, upscaled
    assert len(ys) == CELL * CELL and np.ptp(ys) == np.ptp(xs) == CELL - 1
    y0, x0 = where(grid, colour(0, 0, 0))
    assert ys.min() - y0.min() == CELL + grids.MARGIN  # one row down
    assert xs.min() - x0.min() == (K * CELL + grids.MARGIN) + 2 * CELL  # one column right, third image
