"""The clutter and recolour tasks: their scenes, labels, ink masks, exact edit targets and metrics.

Checked on the images themselves: the clutter digit's ink must be exactly
its glyph's non-zero pixels, the fragments must stay outside its box, and
a recolour target must differ from its input exactly on the queried
digit's ink, there with the same intensity in the new colour.
"""

import json

import numpy as np
import pytest

pytest.importorskip("sklearn")

from attnrnn_np.learn import tasks  # noqa: E402
from attnrnn_np.learn.metrics import edit_error_sums, ink_attention_correctness, ink_cells, mask_iou  # noqa: E402
from attnrnn_np.learn.objectives import evaluate_split, models_for, network_config, task_kind  # noqa: E402
from attnrnn_np.learn.tasks import PALETTE, TaskConfig, generate, load_task  # noqa: E402

N = 40


@pytest.fixture(scope="module")
def clutter():
    return generate(TaskConfig(task="clutter"), N, split="train", seed=2)


@pytest.fixture(scope="module")
def recolour():
    return generate(TaskConfig(task="recolour"), N, split="test", seed=2)


# --------------------------------------------------------------------------- configuration

def test_task_defaults_and_the_query_tasks_keep_their_keys():
    assert TaskConfig(task="clutter").n_digits == 1 and TaskConfig(task="clutter").n_fragments == 8
    assert TaskConfig(task="recolour").min_gap == 1 and TaskConfig(task="recolour").n_digits == 3
    # The query tasks' cache keys are the ones their files were written with.
    assert TaskConfig(task="mref").key() == {"task": "mref", "canvas": 32, "n_digits": 3, "scale_min": 1.5,
                                             "scale_max": 2.0, "min_gap": 1, "test_fraction": 0.2,
                                             "split_seed": 0}
    assert TaskConfig(task="mdist").key()["n_fragments"] == 6
    assert "n_fragments" in TaskConfig(task="clutter").key()
    with pytest.raises(ValueError, match="exactly one digit"):
        TaskConfig(task="clutter", n_digits=2)
    with pytest.raises(ValueError, match="unknown task 'paint'"):
        TaskConfig(task="paint")


def test_kinds_and_models():
    assert [task_kind(t) for t in tasks.TASKS] == ["answer", "answer", "answer", "classify", "edit"]
    assert models_for("recolour") == ("arnn", "arnn-ind", "local", "no-mask", "oracle-mask")
    assert network_config("clutter", "arnn").query_dim == 0
    assert network_config("clutter", "arnn").n_classes == 10
    with pytest.raises(ValueError, match="does not apply to the recolour task"):
        network_config("recolour", "arnn-ms")
    with pytest.raises(ValueError, match="does not apply to the mref task"):
        network_config("mref", "no-mask")


# --------------------------------------------------------------------------- clutter

def test_clutter_has_one_digit_its_class_as_label_and_no_query(clutter):
    assert clutter.classes.shape == (N, 1) and (clutter.target == 0).all()
    b = clutter.batch(range(N), ink=True)
    assert b.q is None
    np.testing.assert_array_equal(b.y, clutter.classes[:, 0])
    assert b.ink.shape == (N, 32, 32) and b.ink.any(axis=(1, 2)).all()


def test_clutter_ink_is_the_digit_and_the_fragments_stay_outside_its_box():
    config = TaskConfig(task="clutter")
    glyphs = tasks.Glyphs(tasks.digit_pools()["train"])
    rng = np.random.default_rng(5)
    outside_ink = 0
    for _ in range(25):
        scene = tasks.draw_scene(rng, config, glyphs)
        top, left, bottom, right = scene.boxes[0]
        img = np.rint(scene.image * 255).astype(np.uint8)
        split = tasks.TaskSplit(img[None], scene.classes[None], scene.colors[None], scene.boxes[None],
                                scene.instances[None], np.array([scene.target]), task="clutter")
        ink = split.query_ink()[0]
        np.testing.assert_array_equal(ink, np.rint(scene.alphas[0] * 255 * PALETTE[scene.colors[0]].max()) > 0)
        box = np.zeros_like(ink)
        box[top:bottom, left:right] = True
        assert not ink[~box].any()
        outside_ink += int((img.max(axis=2)[~box] > 0).sum())
    assert outside_ink > 0  # the fragments are there, outside the box


# --------------------------------------------------------------------------- recolour

def test_recolour_target_differs_exactly_on_the_queried_ink(recolour):
    targets = recolour.edit_targets()
    ink = recolour.query_ink()
    changed = (targets != recolour.images).any(axis=3)
    np.testing.assert_array_equal(changed, ink)  # every ink pixel changes colour, nothing else does
    old = recolour.colors[np.arange(N), recolour.target]
    assert (recolour.new_colors != old).all()
    for n in range(N):
        value = recolour.images[n].max(axis=2)
        np.testing.assert_array_equal(targets[n][ink[n]], value[ink[n], None] * PALETTE[recolour.new_colors[n]])


def test_recolour_batch_holds_class_and_colour_query_target_and_ink(recolour):
    b = recolour.batch(range(5))
    q = np.asarray(b.q)
    assert q.shape == (5, 15)
    np.testing.assert_array_equal(q[:, :10].argmax(1), recolour.queries[:5])
    np.testing.assert_array_equal(q[:, 10:].argmax(1), recolour.new_colors[:5])
    assert q.sum() == 10
    np.testing.assert_array_equal(b.y, recolour.new_colors[:5])
    assert b.target.shape == (5, 32, 32, 3) and b.ink.shape == (5, 32, 32)
    with pytest.raises(ValueError, match="only the recolour task"):
        generate(TaskConfig(task="mref"), 2, seed=0).edit_targets()


def test_mbg_has_no_ink_mask():
    split = generate(TaskConfig(task="mbg"), 2, seed=0)
    with pytest.raises(ValueError, match="not recoverable"):
        split.query_ink()


def test_new_tasks_cache_round_trip(tmp_path):
    for task in ("clutter", "recolour"):
        first = load_task(task, n_train=6, n_test=3, seed=1, cache_dir=tmp_path)
        with np.load(first.path, allow_pickle=False) as f:
            assert json.loads(str(f["key"]))["task"] == task
            assert ("train_new_colors" in f.files) == (task == "recolour")
        second = load_task(task, n_train=6, n_test=3, seed=1, cache_dir=tmp_path)
        assert second.train.task == task
        np.testing.assert_array_equal(first.train.images, second.train.images)
        np.testing.assert_array_equal(first.test.labels, second.test.labels)


# --------------------------------------------------------------------------- metrics

def test_ink_cells_and_ink_attention_correctness_by_hand():
    ink = np.zeros((1, 4, 4), dtype=bool)
    ink[0, 0, 1] = True            # one pixel in cell (0, 0) of a 2×2 grid
    cells = ink_cells(ink, (2, 2))
    np.testing.assert_array_equal(cells[0], [[True, False], [False, False]])
    A = np.array([[[0.5, 0.25], [0.25, 0.0]]])
    assert ink_attention_correctness(A, ink) == pytest.approx(0.5)
    assert ink_attention_correctness(2 * A, ink) == pytest.approx(0.5)   # renormalised per sample


def test_mask_iou_and_edit_errors_by_hand():
    ink = np.zeros((1, 2, 2), dtype=bool)
    ink[0, 0, :] = True
    A = np.array([[[0.9, 0.2], [0.7, 0.1]]])   # selects (0, 0) and (1, 0)
    assert mask_iou(A, ink) == pytest.approx(1 / 3)
    assert mask_iou(np.where(ink, 0.9, 0.1), ink) == 1.0
    Y, Z = np.zeros((1, 2, 2, 3)), np.zeros((1, 2, 2, 3))
    Y[0, 0, 0] = 0.3      # inside: error 0.9 over 6 values
    Y[0, 1, 1, 2] = 0.6   # outside: error 0.6 over 6 values
    s_in, n_in, s_out, n_out = edit_error_sums(Y, Z, ink)
    assert (s_in / n_in, s_out / n_out) == pytest.approx((0.15, 0.1))


def test_recolour_evaluation_oracle_scores_a_perfect_mask_and_no_mask_the_ink_share(recolour):
    from attnrnn_np.learn.objectives import init_network

    oracle = network_config("recolour", "oracle-mask")
    rec = evaluate_split(init_network(oracle, seed=0), oracle, recolour, batch_size=16)
    assert rec["mask_iou"] == 1.0 and rec["attention_correctness"] == pytest.approx(1.0)
    assert set(rec) == {"edit_error", "preservation_error", "mask_iou", "attention_correctness", "n"}
    none = network_config("recolour", "no-mask")
    rec = evaluate_split(init_network(none, seed=0), none, recolour, batch_size=16)
    assert rec["attention_correctness"] == pytest.approx(recolour.query_ink().mean(axis=(1, 2)).mean(), rel=1e-5)
