"""The offline MREF / MDIST / MBG generators (attnrnn_np.learn.tasks).

Properties are checked on the images themselves where possible, not only on
the generator's bookkeeping: on a black canvas a digit's pixels must be its
palette colour times its intensity, nothing may be drawn outside the digit
boxes in MREF, and MDIST's clutter must stay out of them.
"""

import json
import os

import numpy as np
import pytest

pytest.importorskip("sklearn")

from attnrnn_np.learn import digits, tasks  # noqa: E402
from attnrnn_np.learn.tasks import (  # noqa: E402
    PALETTE,
    TaskConfig,
    digit_pools,
    draw_scene,
    generate,
    load_backgrounds,
    load_task,
    resize_bilinear,
)
from attnrnn_np.learn.tasks import QUERY_TASKS as TASKS  # noqa: E402  (clutter, recolour: test_clutter_recolour.py)

from strategies import host  # noqa: E402

N = 40


@pytest.fixture(scope="module")
def sets():
    """Small train and test sets of every task, generated once."""
    return {(task, split): generate(TaskConfig(task=task), N, split=split, seed=3)
            for task in TASKS for split in ("train", "test")}


def _scenes(task, n=25, seed=0, split="train", **params):
    config = TaskConfig(task=task, **params)
    glyphs = tasks.Glyphs(digit_pools()[split])
    backgrounds = load_backgrounds()[split] if task == "mbg" else ()
    rng = np.random.default_rng(seed)
    return config, [draw_scene(rng, config, glyphs, backgrounds) for _ in range(n)]


# --------------------------------------------------------------------------- determinism

@pytest.mark.parametrize("task", TASKS)
def test_seeded_generation_is_deterministic_and_prefix_stable(task, sets):
    config = TaskConfig(task=task)
    again = generate(config, N, split="train", seed=3)
    for name in tasks._SPLIT_FIELDS:
        np.testing.assert_array_equal(getattr(again, name), getattr(sets[task, "train"], name))
    shorter = generate(config, 7, split="train", seed=3)
    np.testing.assert_array_equal(shorter.images, again.images[:7])
    other = generate(config, 7, split="train", seed=4)
    assert not np.array_equal(other.images, shorter.images)


# --------------------------------------------------------------------------- scene content

@pytest.mark.parametrize("task", TASKS)
def test_classes_and_colours_distinct_query_present(task, sets):
    for split in ("train", "test"):
        s = sets[task, split]
        D = s.classes.shape[1]
        assert all(len(set(row)) == D for row in s.classes)
        assert all(len(set(row)) == D for row in s.colors)
        assert ((0 <= s.classes) & (s.classes < 10)).all() and ((0 <= s.colors) & (s.colors < 5)).all()
        assert all(q in row for q, row in zip(s.queries, s.classes, strict=True))
        np.testing.assert_array_equal(s.labels, s.colors[np.arange(len(s)), s.target])
        # Every slot of the D digits is queried sometimes: the target is not always the first digit.
        assert len(set(s.target.tolist())) == D


@pytest.mark.parametrize("task", TASKS)
def test_boxes_are_tight_inside_the_canvas_and_disjoint(task):
    config, scenes = _scenes(task)
    C, gap = config.canvas, config.min_gap
    for sc in scenes:
        for d, (t, lft, b, r) in enumerate(sc.boxes):
            assert 0 <= t < b <= C and 0 <= lft < r <= C
            alpha = sc.alphas[d]
            inside = np.zeros_like(alpha, dtype=bool)
            inside[t:b, lft:r] = True
            assert not alpha[~inside].any(), "digit ink outside its box"
            box = alpha[t:b, lft:r]
            assert box[0].any() and box[-1].any() and box[:, 0].any() and box[:, -1].any(), "box not tight"
            lo, hi = config.sides
            assert max(b - t, r - lft) <= hi
        for i in range(len(sc.boxes)):
            for j in range(i):
                t1, l1, b1, r1 = sc.boxes[i]
                t2, l2, b2, r2 = sc.boxes[j]
                assert b1 + gap <= t2 or b2 + gap <= t1 or r1 + gap <= l2 or r2 + gap <= l1, "boxes overlap"


@pytest.mark.parametrize("task", ["mref", "mdist"])
def test_digit_pixels_are_their_colour_and_clutter_stays_out(task):
    """On black, inside box d the image is exactly α_d · colour_d: no other digit or fragment is there."""
    _, scenes = _scenes(task, seed=1)
    for sc in scenes:
        drawn = np.zeros_like(sc.image, dtype=bool)
        for d, (t, lft, b, r) in enumerate(sc.boxes):
            expect = sc.alphas[d, t:b, lft:r, None] * PALETTE[sc.colors[d]]
            np.testing.assert_allclose(sc.image[t:b, lft:r], expect, rtol=0, atol=1e-12)
            drawn[t:b, lft:r] = True
        outside = sc.image[~drawn.any(axis=2)]
        if task == "mref":
            assert not outside.any(), "MREF draws nothing but digits"
    if task == "mdist":
        clutter = [sc.image[~np.any([_box_mask(b, sc.image.shape[0]) for b in sc.boxes], axis=0)].sum()
                   for sc in scenes]
        assert np.mean([c > 0 for c in clutter]) > 0.9, "MDIST images should carry clutter"


def _box_mask(box, C):
    m = np.zeros((C, C), dtype=bool)
    t, lft, b, r = box
    m[t:b, lft:r] = True
    return m


def test_mbg_digits_cover_a_photograph():
    _, scenes = _scenes("mbg", seed=2)
    for sc in scenes:
        for d in range(len(sc.boxes)):
            full = sc.alphas[d] == 1.0
            np.testing.assert_allclose(sc.image[full], np.broadcast_to(PALETTE[sc.colors[d]], sc.image[full].shape))
        background = sc.image[sc.alphas.sum(axis=0) == 0]
        assert background.std() > 0.0 and background.any()


@pytest.mark.parametrize("task", TASKS)
def test_stored_images_show_the_label_colour_in_the_query_box(task, sets):
    """From the uint8 images alone: where the queried digit is fully inked, the pixel is its colour."""
    s = sets[task, "train"]
    scale = 255
    for n in range(len(s)):
        t, lft, b, r = s.query_boxes[n]
        region = s.images[n, t:b, lft:r].astype(int)           # (h, w, 3)
        if task != "mbg":
            zero = PALETTE[s.labels[n]] == 0
            assert not region[..., zero].any(), "a channel the label colour lacks is lit"
            lit = region[..., ~zero]
            assert (lit == lit[..., :1]).all() and lit.max() == scale
        else:
            target = (PALETTE[s.labels[n]] * scale).astype(int)
            assert (np.abs(region - target).max(axis=-1) == 0).any()


@pytest.mark.parametrize("task", TASKS)
def test_batch_values_and_shapes(task, sets):
    s = sets[task, "test"]
    b = s.batch(np.arange(5, 15))
    assert b.X.shape == (10, 32, 32, 3) and b.X.dtype == np.float32
    assert b.X.min() >= 0.0 and b.X.max() <= 1.0 and b.X.max() > 0.5
    assert b.q.shape == (10, 10) and (b.q.sum(axis=1) == 1).all()
    np.testing.assert_array_equal(b.q.argmax(axis=1), s.queries[5:15])
    np.testing.assert_array_equal(b.y, s.labels[5:15])
    np.testing.assert_array_equal(b.box, s.query_boxes[5:15])
    assert s.batch(dtype="float64").X.dtype == np.float64 and len(s.batch().y) == len(s)


def test_batch_on_the_backend(xp, sets):
    b = sets["mref", "train"].batch(np.arange(4), xp=xp)
    assert b.ink is None and b.target is None   # asked for with ink=True / recolour only
    for a in (b.X, b.q, b.y, b.box):
        assert type(a) is xp.ndarray
    np.testing.assert_array_equal(host(b.X), sets["mref", "train"].batch(np.arange(4)).X)


# --------------------------------------------------------------------------- held-out handwriting

def test_digit_pools_split_instances_disjointly_and_stratified():
    pools = digit_pools()
    train, test = pools["train"].index, pools["test"].index
    assert not set(train) & set(test)
    assert len(train) + len(test) == 1797
    for c in range(10):
        n_tr, n_te = len(pools["train"].by_class[c]), len(pools["test"].by_class[c])
        assert abs(n_te / (n_tr + n_te) - 0.2) < 0.02
    np.testing.assert_array_equal(digit_pools(split_seed=0)["test"].index, test)
    assert not np.array_equal(digit_pools(split_seed=1)["test"].index, test)


@pytest.mark.parametrize("task", TASKS)
def test_train_and_test_images_use_disjoint_handwriting(task, sets):
    pools = digit_pools()
    train, test = sets[task, "train"].instances, sets[task, "test"].instances
    assert set(train.ravel()) <= set(pools["train"].index)
    assert set(test.ravel()) <= set(pools["test"].index)
    assert not set(train.ravel()) & set(test.ravel())
    # The recorded instance is the digit drawn: its class matches.
    labels = digits._load_digits()[1]
    np.testing.assert_array_equal(labels[train], sets[task, "train"].classes)


def test_photographs_are_split_by_columns():
    bgs = load_backgrounds()
    assert [b.name for b in bgs["train"]] == [b.name for b in bgs["test"]]
    for tr, te in zip(bgs["train"], bgs["test"], strict=True):
        h, w_tr, _ = tr.levels[0].shape
        w_te = te.levels[0].shape[1]
        assert te.levels[0].shape[0] == h
        assert abs(w_te / (w_tr + w_te) - 0.2) < 0.01
        assert [lv.shape[1] for lv in tr.levels] == [w_tr // f for f in (1, 2, 4, 8)]


def test_missing_photo_source_falls_back_with_a_warning(monkeypatch):
    import sklearn.datasets

    def broken():
        raise ImportError("pretend pillow is missing")

    monkeypatch.setattr(sklearn.datasets, "load_sample_images", broken)
    with pytest.warns(UserWarning, match="falling back to matplotlib:grace_hopper.jpg"):
        photos = digits._photographs()
    assert [name for name, _ in photos] == ["matplotlib:grace_hopper.jpg"]


# --------------------------------------------------------------------------- cache

def _small(**kw):
    return {"n_train": 12, "n_test": 5, "seed": 1, **kw}


def test_cache_round_trip(tmp_path, monkeypatch):
    first = load_task("mdist", cache_dir=tmp_path, **_small())
    assert first.path is not None and first.path.exists() and first.path.parent == tmp_path
    assert first.path.name.startswith("mdist-") and first.path.suffix == ".npz"
    with np.load(first.path, allow_pickle=False) as f:
        assert json.loads(str(f["key"]))["n_train"] == 12

    def no_generation(*args, **kwargs):
        raise AssertionError("a cached set was regenerated")

    monkeypatch.setattr(tasks, "generate", no_generation)
    second = load_task("mdist", cache_dir=tmp_path, **_small())
    assert second.path == first.path
    for split in ("train", "test"):
        for name in tasks._SPLIT_FIELDS:
            a, b = getattr(getattr(first, split), name), getattr(getattr(second, split), name)
            assert a.dtype == b.dtype
            np.testing.assert_array_equal(a, b)


def test_cache_file_is_keyed_by_the_parameters(tmp_path):
    base = load_task("mref", cache_dir=tmp_path, **_small()).path
    for change in ({"seed": 2}, {"n_test": 6}, {"canvas": 40}, {"n_digits": 2}, {"scale_max": 1.9},
                   {"split_seed": 1}):
        kw = {**_small(), **change}
        assert load_task("mref", cache_dir=tmp_path, **kw).path != base, change
    # Fragment parameters do not shape MREF images, so they share its cache file.
    assert load_task("mref", cache_dir=tmp_path, n_fragments=2, **_small()).path == base
    assert load_task("mdist", cache_dir=tmp_path, **_small()).path != base


def test_cache_writes_leave_no_temporary_files(tmp_path):
    load_task("mref", cache_dir=tmp_path, **_small())
    load_task("mref", cache_dir=tmp_path, **_small(seed=5))
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".npz", ".npz"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_interrupted_write_leaves_nothing(tmp_path, monkeypatch):
    def half_write(f, **arrays):
        f.write(b"PK\x03\x04 half a zip")
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez_compressed", half_write)
    with pytest.raises(KeyboardInterrupt):
        load_task("mref", cache_dir=tmp_path, **_small())
    assert list(tmp_path.iterdir()) == []


def test_corrupt_or_stale_cache_is_regenerated(tmp_path):
    good = load_task("mref", cache_dir=tmp_path, **_small())
    good.path.write_bytes(b"not a zip file")
    with pytest.warns(UserWarning, match="unreadable"):
        again = load_task("mref", cache_dir=tmp_path, **_small())
    np.testing.assert_array_equal(again.train.images, good.train.images)
    with np.load(again.path, allow_pickle=False) as f:
        arrays = dict(f)
    arrays["key"] = np.array(json.dumps({"task": "mref", "something": "else"}))
    np.savez(again.path, **arrays)
    with pytest.warns(UserWarning, match="other parameters"):
        load_task("mref", cache_dir=tmp_path, **_small())


def test_no_cache_dir_means_no_files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    data = load_task("mref", **_small())
    assert data.path is None and os.listdir(tmp_path) == []
    assert len(data.train) == 12 and len(data.test) == 5


def test_mbg_cache_key_names_the_photographs(tmp_path):
    data = load_task("mbg", cache_dir=tmp_path, **_small())
    assert "matplotlib:grace_hopper.jpg" in data.backgrounds
    with np.load(data.path, allow_pickle=False) as f:
        assert json.loads(str(f["key"]))["backgrounds"] == list(data.backgrounds)


# --------------------------------------------------------------------------- errors

def test_unknown_task_and_split_are_named():
    with pytest.raises(ValueError, match="unknown task 'mnist'; expected one of mref, mdist, mbg"):
        load_task("mnist", n_train=1, n_test=1)
    with pytest.raises(ValueError, match="unknown split"):
        generate(TaskConfig(), 1, split="val")
    with pytest.raises(TypeError):
        load_task("mref", n_train=1, n_test=1, colour_count=3)


@pytest.mark.parametrize("params, match", [
    ({"n_digits": 6}, "1..5"),
    ({"n_digits": 0}, "1..5"),
    ({"canvas": 16, "n_digits": 3}, "cannot fit"),
    ({"canvas": 12}, "does not fit"),
    ({"scale_min": 2.0, "scale_max": 1.5}, "scale_min <= scale_max"),
    ({"fragment_max": 20}, "fragment_max"),
    ({"test_fraction": 1.0}, "test_fraction"),
    ({"min_gap": -1}, "min_gap"),
])
def test_impossible_parameters_are_refused(params, match):
    with pytest.raises(ValueError, match=match):
        TaskConfig(**params)


def test_unplaceable_scene_raises_a_clear_error():
    """Five digits pass the area bound on 32×32 but cannot be laid out: a clear error, not a hang."""
    with pytest.raises(ValueError, match="could not place 5 digits"):
        generate(TaskConfig(n_digits=5), 3)


def test_negative_count_is_refused():
    with pytest.raises(ValueError, match=">= 0"):
        generate(TaskConfig(), -1)


# --------------------------------------------------------------------------- resampling

def test_resize_bilinear_matches_torch_and_keeps_constants():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    img = rng.random((2, 8, 8))
    for size in (12, 13, 16):
        ours = resize_bilinear(img, size, size)
        theirs = torch.nn.functional.interpolate(torch.tensor(img)[:, None], size=(size, size),
                                                 mode="bilinear", align_corners=False)[:, 0].numpy()
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(resize_bilinear(np.full((8, 8), 0.3), 15, 11), 0.3)


def test_bilinear_keeps_zero_regions_zero():
    img = np.zeros((8, 8))
    img[2:5, 3:6] = 1.0
    up = resize_bilinear(img, 16, 16)
    assert not up[:3].any() and not up[11:].any() and up.min() >= 0.0


def test_ink_box_holds_every_nonzero_pixel_and_is_tight():
    rng = np.random.default_rng(0)
    for _ in range(50):
        img = np.zeros((9, 7))
        t, lft = rng.integers(0, 5), rng.integers(0, 4)
        img[t:t + rng.integers(1, 5), lft:lft + rng.integers(1, 4)] = rng.random() + 0.1
        top, left, bottom, right = digits.ink_box(img)
        rows, cols = np.nonzero(img)
        assert (top, left, bottom, right) == (rows.min(), cols.min(), rows.max() + 1, cols.max() + 1)
