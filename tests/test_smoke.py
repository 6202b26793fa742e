from attnrnn_np.tour import run_tour


def test_tour_passes_and_reports():
    lines = []
    assert run_tour(seed=3, out=lines.append) == 0
    text = "\n".join(lines)
    assert "all checks passed" in text and "14 of 14 gradients pass" in text
