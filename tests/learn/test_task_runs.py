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
