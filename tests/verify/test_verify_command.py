"""``attnrnn-np verify``: exit 0 when everything agrees, 1 on any disagreement, 2 with one line on usage errors."""

import subprocess
import sys

import pytest

from attnrnn_np.cli import main

CANDIDATES = '''
from attnrnn_np.verify import reference

def good(problem):
    return reference(problem)

def bad(problem):
    out = reference(problem)
    out["S"] = out["S"] + 1.0
    return out

not_a_function = 3
'''


@pytest.fixture
def candidates(tmp_path, monkeypatch):
    (tmp_path / "my_arnn.py").write_text(CANDIDATES)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    sys.modules.pop("my_arnn", None)


def _usage_error(capsys, argv, match):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("attnrnn-np: error: ") and match in err[0], err
    assert not any("Traceback" in line for line in err)


def test_against_a_good_and_a_bad_candidate(candidates, capsys):
    assert main(["verify", "--against", "my_arnn:good", "--problems", "pixel-1x1,row-1x6"]) == 0
    assert "AGREES: 2 of 2 problems pass" in capsys.readouterr().out
    assert main(["verify", "--against", "my_arnn:bad", "--problems", "pixel-1x1"]) == 1
    out = capsys.readouterr().out
    assert "DISAGREES" in out and "first divergence: stage head, S" in out and "head-halves" in out


def test_against_a_file_path_and_float32(candidates, capsys):
    path = candidates / "my_arnn.py"
    assert main(["verify", "--against", f"{path}:good", "--problems", "pixel-1x1", "--dtype", "float32"]) == 0
    assert "dtype float32" in capsys.readouterr().out


def test_usage_errors_are_one_line_and_exit_2(candidates, capsys):
    _usage_error(capsys, ["verify", "--against", "no_such_module_here:f"], "cannot import no_such_module_here")
    _usage_error(capsys, ["verify", "--against", "my_arnn:not_a_function"], "is not callable")
    _usage_error(capsys, ["verify", "--against", "my_arnn:missing"], "has no attribute 'missing'")
    _usage_error(capsys, ["verify", "--against", "my_arnn"], "MODULE:FUNCTION")
    _usage_error(capsys, ["verify", "--against", "my_arnn:good", "--problems", "nope"], "unknown problem 'nope'")
    _usage_error(capsys, ["verify", "--npz", str(candidates / "nowhere")], "no such folder")
    _usage_error(capsys, ["verify"], "say what to check")
    _usage_error(capsys, ["verify", "--self", "--dtype", "float32"], "--self")
    _usage_error(capsys, ["verify", "--self", "golden", "--out", str(candidates / "g")], "golden writes files")


def test_golden_then_npz_then_self(tmp_path, capsys):
    out = tmp_path / "golden"
    assert main(["verify", "golden", "--out", str(out), "--problems", "row-1x6,column-6x1"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["column-6x1.npz", "manifest.json", "row-1x6.npz"]
    assert main(["verify", "--npz", str(out), "--problems", "row-1x6,column-6x1"]) == 0
    assert main(["verify", "--npz", str(out), "--problems", "row-1x6,pixel-1x1"]) == 1
    assert "no file pixel-1x1.npz" in capsys.readouterr().out
    assert main(["verify", "--self"]) == 0
    assert "AGREES: 3 of 3 problems pass" in capsys.readouterr().out


def test_the_installed_command_runs():
    result = subprocess.run([sys.executable, "-m", "attnrnn_np.cli", "verify", "--self"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "this installation" in result.stdout
