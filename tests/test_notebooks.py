"""The lecture notebooks (``notebooks/``): each runs top to bottom in a real Jupyter kernel,
where its ``assert``s check the lecture's numbers; the committed notebooks carry no outputs,
so no stale output can be read; and every rendered copy (``docs/notebooks/``, made by
``tools/render_notebooks.py``) is stamped with the notebook it was made from and linked
from the README."""

import importlib.util
import re
from pathlib import Path

import nbformat
import pytest
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parents[1]
FULL_CIFAR10 = ROOT.parent / "shared" / "data" / "cifar10-jpeg.tar.gz"
FLAG = "FULL_CIFAR10 = False"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _render_tool():
    path = ROOT / "tools" / "render_notebooks.py"
    spec = importlib.util.spec_from_file_location("render_notebooks", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


render = _render_tool()
NOTEBOOKS = render.notebooks()


def _run(notebook, folder=None):
    try:
        return render.execute(notebook, folder=folder)
    except CellExecutionError as err:
        # The failing cell's source and its traceback, without the terminal colours.
        pytest.fail(f"{notebook.name}: {ANSI.sub('', str(err))}", pytrace=False)


def test_the_lecture_has_its_notebooks_in_order():
    names = [p.stem for p in NOTEBOOKS]
    assert len(names) >= 6, names
    numbers = [int(n.split("_")[0]) for n in names]
    assert numbers == list(range(len(names))), names


@pytest.mark.slow
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_and_its_numbers_hold(notebook):
    executed = _run(notebook)
    errors = [
        o
        for c in executed.cells
        if c.cell_type == "code"
        for o in c.outputs
        if o.output_type == "error"
    ]
    assert not errors
    copy = render.rendered_copy(notebook)
    shown = render.stamp_of(copy.read_text(encoding="utf-8"), render.OUTPUTS_PATTERN)
    assert shown == render.outputs_digest(executed), (
        f"{copy.relative_to(ROOT)} shows other printed outputs than a fresh run of this "
        f"code: run python tools/render_notebooks.py {notebook.stem}"
    )


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_notebook_carries_no_outputs(notebook):
    nb = nbformat.read(notebook, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    stored = [i for i, c in enumerate(code) if c.outputs or c.execution_count is not None]
    assert not stored, f"{notebook.name}: code cells {stored} carry outputs; clear them"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_starts_with_the_data_flag_off(notebook):
    nb = nbformat.read(notebook, as_version=4)
    first = next(c for c in nb.cells if c.cell_type == "code")
    assert first.source.splitlines()[0] == FLAG


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_rendered_copy_is_of_the_current_notebook(notebook):
    copy = render.rendered_copy(notebook)
    assert copy.is_file(), f"no {copy.relative_to(ROOT)}: run python tools/render_notebooks.py"
    stamp = render.stamp_of(copy.read_text(encoding="utf-8"))
    assert stamp == render.source_digest(notebook), (
        f"{copy.relative_to(ROOT)} was rendered from another version of {notebook.name}: "
        f"run python tools/render_notebooks.py {notebook.stem}"
    )


def test_every_rendered_copy_has_its_notebook_and_a_readme_link():
    rendered = sorted(p.stem for p in render.RENDERED.glob("*.html"))
    assert rendered == [p.stem for p in NOTEBOOKS]
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [n for n in rendered if f"(docs/notebooks/{n}.html)" not in readme]
    assert not missing, f"README.md links no rendered copy of {missing}"
    # Each page links the one stylesheet of the theme and holds no copy of it.
    assert render.STYLESHEET.stat().st_size > 100_000
    for copy in render.RENDERED.glob("*.html"):
        html = copy.read_text(encoding="utf-8")
        assert render.STYLESHEET_LINK in html and not render.STYLE_BLOCK.search(html), copy


def test_the_theme_leaves_the_page_and_a_cells_own_style_stays():
    html = (
        '<html><head><meta charset="utf-8"/>\n<style type="text/css">\na{}\n</style>\n'
        '<script>x()</script>\n<style type="text/css">\nb{}\n</style>\n</head>\n'
        '<body><style type="text/css">td{}</style></body></html>'
    )
    page, css = render.with_shared_style(html)
    assert css == "a{}\n\nb{}\n"
    assert page == (
        '<html><head><meta charset="utf-8"/>\n' + render.STYLESHEET_LINK + "<script>x()</script>\n"
        '</head>\n<body><style type="text/css">td{}</style></body></html>'
    )


def test_a_changed_notebook_or_helper_no_longer_matches_its_stamp(tmp_path):
    notebook = NOTEBOOKS[0]
    html = render.to_html(nbformat.read(notebook, as_version=4), render.source_digest(notebook))
    assert render.stamp_of(html) == render.source_digest(notebook)
    copy = tmp_path / notebook.name
    helper = tmp_path / "lecture.py"
    copy.write_bytes(notebook.read_bytes())
    helper.write_bytes((render.NOTEBOOKS / "lecture.py").read_bytes())
    assert render.source_digest(copy) == render.source_digest(notebook)
    helper.write_bytes(helper.read_bytes() + b"\n")
    assert render.source_digest(copy) != render.source_digest(notebook)
    helper.write_bytes((render.NOTEBOOKS / "lecture.py").read_bytes())
    copy.write_bytes(notebook.read_bytes().replace(b"lecture", b"Lecture", 1))
    assert render.source_digest(copy) != render.source_digest(notebook)


@pytest.mark.slow
@pytest.mark.skipif(not FULL_CIFAR10.is_file(), reason=f"no full CIFAR-10 at {FULL_CIFAR10}")
def test_the_flag_switches_to_the_full_cifar10(tmp_path):
    notebook = render.NOTEBOOKS / "01_linear_classifier.ipynb"
    nb = nbformat.read(notebook, as_version=4)
    first = next(c for c in nb.cells if c.cell_type == "code")
    first.source = first.source.replace(FLAG, "FULL_CIFAR10 = True", 1)
    # Up to the cell that counts the images (training on 50,000 images is not this test's).
    counting = next(i for i, c in enumerate(nb.cells) if "SIZES[FULL_CIFAR10]" in c.source)
    nb.cells = nb.cells[: counting + 1]
    flipped = tmp_path / notebook.name
    nbformat.write(nb, flipped)
    executed = _run(flipped, folder=render.NOTEBOOKS)  # where its helper module is
    printed = "".join(
        o.get("text", "") for c in executed.cells if c.cell_type == "code" for o in c.outputs
    )
    assert "50,000 training images, 10,000 test images" in printed


def test_render_tool_refuses_an_unknown_notebook_in_one_line(capsys):
    assert render.main(["01_linear_clasifier"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no notebook '01_linear_clasifier'" in err


def test_the_outputs_stamp_sees_a_moved_number_but_not_a_timing():
    def printed(text):
        nb = nbformat.v4.new_notebook()
        cell = nbformat.v4.new_code_cell("print()")
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)]
        nb.cells = [cell]
        return render.outputs_digest(nb)

    base = printed("loss 2.0404, step 47 ms, <Animation at 0x7f3a2c>\n")
    assert base == printed("loss 2.04040001, step 52 ms, <Animation at 0x55d0e1>\n")
    assert base != printed("loss 2.0414, step 47 ms, <Animation at 0x7f3a2c>\n")
    assert base != printed("loss 2.0404, step 47 ms, <Animation at 0x7f3a2c>\nextra\n")
