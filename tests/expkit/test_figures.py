"""expkit.figures: a figure drawn twice is saved to the same bytes, so a redraw changes no committed file."""

import matplotlib

from expkit.figures import save_figure


def draw():
    from matplotlib.figure import Figure

    fig = Figure()
    ax = fig.subplots()
    ax.plot([1, 2, 3], [3, 1, 2], label="a line")  # a clip path: its id was random before
    ax.legend()
    return fig


def test_the_same_figure_saves_to_the_same_bytes(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir(), second.mkdir()
    paths = save_figure(draw(), first, "figure")
    save_figure(draw(), second, "figure")
    assert [p.name for p in paths] == ["figure.png", "figure.svg"]
    for path in paths:
        assert path.read_bytes() == (second / path.name).read_bytes(), path.name
    assert matplotlib.rcParams["svg.hashsalt"] is None  # set for the save only
