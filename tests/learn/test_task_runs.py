"""Training, resuming, the command line and the experiment on the clutter and recolour tasks (tiny sets)."""

import json

import numpy as np
import pytest

pytest.importorskip("sklearn")

from attnrnn_np.cli import main  # noqa: E402
from attnrnn_np.learn.experiment import experiment_table, run_experiment  # noqa: E402
from attnrnn_np.learn.tasks import load_task  # noqa: E402
from attnrnn_np.learn.train import TrainConfig, load_checkpoint, train  # noqa: E402

TINY = dict(n_train=24, n_test=8, batch_size=8, hidden=3, lr=3e-3, seed=5)
SMALL_SCENES = dict(canvas=16, n_digits=2, scale_min=1.0, scale_max=1.2)


@pytest.fixture(scope="module")
def datasets():
    return {
        "clutter": load_task("clutter", n_train=24, n_test=8, seed=0, canvas=16, scale_min=1.0, scale_max=1.2,
                             n_fragments=3, fragment_min=3, fragment_max=4),
        "recolour": load_task("recolour", n_train=24, n_test=8, seed=0, **SMALL_SCENES),
    }


def _run(data, task, model, steps, **kw):
    return train(TrainConfig(task=task, model=model, steps=steps, **TINY), data=data, progress=False,
                 log=lambda m: None, **kw)


@pytest.mark.parametrize("task, model", [("clutter", "arnn"), ("clutter", "local"), ("recolour", "arnn"),
                                         ("recolour", "local"), ("recolour", "oracle-mask")])
def test_runs_move_the_parameters_and_resume_bit_for_bit(datasets, tmp_path, task, model):
    data = datasets[task]
    straight = _run(data, task, model, 5)
    _run(data, task, model, 3, out=tmp_path, checkpoint_every=3)
    resumed = _run(data, task, model, 5, out=tmp_path, resume=tmp_path / "checkpoint.npz")
    for key in straight.state.params:
        np.testing.assert_array_equal(straight.state.params[key], resumed.state.params[key], err_msg=key)
    assert load_checkpoint(tmp_path / "checkpoint.npz").step == 5
    first = _run(data, task, model, 1)
    assert any(not np.array_equal(first.state.params[k], straight.state.params[k]) for k in first.state.params)
    if task == "clutter":
        assert 0 <= straight.accuracy <= 1 and set(straight.metrics) == {"accuracy", "attention_correctness"}
    else:
        assert straight.accuracy is None
        assert set(straight.metrics) == {"edit_error", "preservation_error", "mask_iou", "attention_correctness"}


def test_cli_trains_both_tasks_and_writes_their_metrics(tmp_path, capsys):
    common = ["--steps", "2", "--n-train", "16", "--n-test", "8", "--batch-size", "8", "--hidden", "3",
              "--cache-dir", "none", "--quiet"]
    assert main(["train", "--task", "clutter", "--model", "none", "--out", str(tmp_path / "c"), *common]) == 0
    metrics = json.loads((tmp_path / "c" / "metrics.json").read_text())
    assert {"accuracy", "attention_correctness"} <= set(metrics) and metrics["config"]["task"] == "clutter"
    assert main(["train", "--task", "recolour", "--model", "no-mask", "--out", str(tmp_path / "r"), *common]) == 0
    metrics = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert {"edit_error", "preservation_error", "mask_iou", "attention_correctness"} <= set(metrics)
    assert "accuracy" not in metrics
    assert "no-mask on recolour: test edit error" in capsys.readouterr().out


def test_cli_refuses_a_model_of_another_task_in_one_line(tmp_path, capsys):
    code = main(["train", "--task", "recolour", "--model", "arnn-ms", "--steps", "1", "--n-train", "8",
                 "--batch-size", "4", "--cache-dir", "none", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert err.startswith("attnrnn-np: error: model 'arnn-ms' does not apply to the recolour task")


def test_experiment_runs_selected_tasks_with_their_own_models_and_tables(tmp_path):
    summaries = run_experiment(tmp_path, steps=2, seeds=1, tasks=("clutter", "recolour"),
                               models=("none", "arnn", "no-mask"), jobs=1, cache_dir=None, log=lambda m: None,
                               n_train=16, n_test=8, batch_size=8, hidden=3)
    assert [(s["task"], s["model"]) for s in summaries] == [("clutter", "none"), ("clutter", "arnn"),
                                                            ("recolour", "arnn"), ("recolour", "no-mask")]
    table = (tmp_path / "table.md").read_text()
    assert "| model | CLUTTER accuracy | CLUTTER att. corr. |" in table
    assert "| model | RECOLOUR edit error | RECOLOUR preservation error | RECOLOUR mask IoU |" in table
    lines = table.splitlines()
    assert sum(line.startswith("| arnn |") for line in lines) == 2 and any(x.startswith("| no-mask |") for x in lines)
    with pytest.raises(ValueError, match="apply to none of the tasks"):
        run_experiment(tmp_path, steps=1, seeds=1, tasks=("clutter",), models=("oracle-mask",), jobs=1)


def test_experiment_table_reads_mean_and_spread_per_metric():
    runs = [{"task": "recolour", "model": "arnn", "metrics": {"edit_error": e, "preservation_error": 0.1,
                                                             "mask_iou": 0.5, "attention_correctness": 0.6}}
            for e in (0.1, 0.2, 0.3)]
    table = experiment_table(runs, tasks=("recolour",))
    assert "| arnn | 0.200 (0.100–0.300) | 0.100 (0.100–0.100) |" in table


def test_cli_experiment_refuses_models_of_no_selected_task(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["experiment", "--tasks", "clutter", "--models", "oracle-mask", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and err.count("\n") == 1
    assert err.startswith("attnrnn-np: error: --models oracle-mask: applies to none of --tasks clutter")


def test_a_config_left_at_none_takes_its_tasks_recipe_and_explicit_values_win():
    from attnrnn_np.learn.objectives import RECIPES, recipe

    assert RECIPES["answer"] == RECIPES["classify"] == (2000, 3e-3, 64, 0.0)
    for task in ("mref", "clutter", "recolour"):
        c = TrainConfig(task=task, model="arnn")
        assert (c.steps, c.lr, c.batch_size, c.recon_weight) == tuple(recipe(task)), task
    r = recipe("recolour")
    assert r.recon_weight > 0 and r.lr != recipe("mref").lr
    c = TrainConfig(task="recolour", model="arnn", steps=7, lr=1e-3, batch_size=5, recon_weight=0)
    assert (c.steps, c.lr, c.batch_size, c.recon_weight) == (7, 1e-3, 5, 0.0)
    assert TrainConfig.from_json(c.to_json()) == c


def test_recon_weight_belongs_to_recolour_and_is_checked():
    with pytest.raises(ValueError, match="recon_weight applies to the recolour task only"):
        TrainConfig(task="mref", recon_weight=1.0)
    with pytest.raises(ValueError, match="recon_weight must be a finite number >= 0"):
        TrainConfig(task="recolour", recon_weight=-0.5)
    assert TrainConfig(task="mref", recon_weight=0).recon_weight == 0.0


def test_a_configuration_without_recon_weight_reads_as_trained_without_the_term():
    text = json.loads(TrainConfig(task="recolour", model="arnn").to_json())
    del text["recon_weight"]
    assert TrainConfig.from_json(json.dumps(text)).recon_weight == 0.0


def test_the_recon_weight_reaches_the_network_and_zero_is_the_plain_image_loss(datasets):
    from attnrnn_np.learn.objectives import step_loss
    from attnrnn_np.learn.train import fresh_state, model_config

    b = datasets["recolour"].train.batch(range(8), dtype="float32")
    losses = {}
    for lam in (0.0, 1.0):
        config = TrainConfig(task="recolour", model="arnn", steps=1, recon_weight=lam, **TINY)
        assert model_config(config).recon_weight == lam
        losses[lam] = float(step_loss(fresh_state(config).params, b, model_config(config))[0])
    assert losses[1.0] > losses[0.0] > 0


def test_cli_train_uses_the_recolour_recipe_and_says_so(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "default the task's: 2000, recolour 1500" in help_text and "recolour 0.01" in help_text
    assert main(["train", "--task", "recolour", "--model", "no-mask", "--steps", "1", "--n-train", "64",
                 "--n-test", "8", "--hidden", "3", "--cache-dir", "none", "--quiet", "--out",
                 str(tmp_path / "r")]) == 0
    config = json.loads((tmp_path / "r" / "metrics.json").read_text())["config"]
    assert (config["lr"], config["batch_size"], config["recon_weight"]) == (1e-2, 64, 1.0)


def test_cli_refuses_an_n_train_below_the_tasks_batch_before_any_work(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["experiment", "--tasks", "recolour", "--n-train", "10", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "--batch-size 64 exceeds --n-train 10" in err


def test_cli_recon_weight_reaches_recolour_runs_only(tmp_path, capsys):
    tiny = ["--steps", "1", "--n-train", "16", "--n-test", "8", "--batch-size", "8", "--hidden", "3",
            "--cache-dir", "none"]
    code = main(["train", "--task", "mref", "--recon-weight", "1", "--out", str(tmp_path / "m"), *tiny])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "recon_weight applies to the recolour task only" in err
    with pytest.raises(SystemExit) as exit_:
        main(["train", "--task", "recolour", "--recon-weight", "-1", "--out", str(tmp_path / "r"), *tiny])
    assert exit_.value.code == 2 and "--recon-weight: expected a finite number >= 0, got -1" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["demo", "--recon-weight", "1", "--out", str(tmp_path / "d")])
    assert "unrecognized arguments: --recon-weight" in capsys.readouterr().err
    assert main(["experiment", "--tasks", "clutter", "recolour", "--models", "none", "no-mask", "--seeds", "1",
                 "--jobs", "1", "--recon-weight", "0.25", "--out", str(tmp_path / "e"), *tiny]) == 0
    table = json.loads((tmp_path / "e" / "table.json").read_text())
    assert table["tasks"]["recolour"]["recon_weight"] == 0.25 and table["tasks"]["clutter"]["recon_weight"] == 0
    assert "recolour: lr 0.01, batch 8, λ 0.25" in (tmp_path / "e" / "table.md").read_text()


def test_the_notebooks_recolour_checkpoints_are_the_documented_runs():
    """notebooks/data/recolour/<model>.npz: `attnrnn-np train --task recolour --model <model> --steps 1500
    --n-test 1000 --seed 0`, trained to the end (the command notebook 07 and docs/learning.md §9 give)."""
    from pathlib import Path

    folder = Path(__file__).resolve().parents[2] / "notebooks" / "data" / "recolour"
    found = sorted(p.stem for p in folder.glob("*.npz"))
    assert found == ["arnn", "local", "no-mask", "oracle-mask"]
    for model in found:
        state = load_checkpoint(folder / f"{model}.npz")
        assert state.config == TrainConfig(task="recolour", model=model, steps=1500, n_test=1000, seed=0), model
        assert state.step == 1500
