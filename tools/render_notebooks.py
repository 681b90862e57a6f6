"""Execute the lecture notebooks and write their rendered copies (HTML, pictures embedded).

    python tools/render_notebooks.py            # every notebook in notebooks/
    python tools/render_notebooks.py 03_optimization   # some of them, by name

The notebooks in ``notebooks/`` are kept without outputs; their outputs exist only in the
rendered copies ``docs/notebooks/NAME.html``, each made from a fresh run of this checkout's
code and stamped with the SHA-256 of the notebook (and of its helper module) it was made
from. The tests execute every notebook and check every stamp, so a rendered copy whose
notebook changed since is caught. nbconvert's theme (260 KB of CSS, the same for every
notebook) is written once, to ``docs/notebooks/notebook.css``, which each page links.
Needs the ``notebook-run`` extra (``pip install -e ".[notebook-run]"``, part of ``test``).
"""

import hashlib
import os
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
RENDERED = ROOT / "docs" / "notebooks"
#: Seconds one cell may run before the execution fails.
CELL_TIMEOUT = 600
STAMP = '<meta name="gradwise-notebook-sha256" content="{digest}">'
STAMP_PATTERN = re.compile(r'<meta name="gradwise-notebook-sha256" content="([0-9a-f]{64})">')
OUTPUTS_STAMP = '<meta name="gradwise-outputs-sha256" content="{digest}">'
OUTPUTS_PATTERN = re.compile(r'<meta name="gradwise-outputs-sha256" content="([0-9a-f]{64})">')
NUMBER = re.compile(r"-?\d+\.\d+(?:[eE][-+]?\d+)?")
ADDRESS = re.compile(r"0x[0-9a-fA-F]+")
DURATION = re.compile(r"[\d.,]+ ?(?:ms|s|seconds?|minutes?|min|hours?|h)\b")
STYLESHEET = RENDERED / "notebook.css"
STYLE_BLOCK = re.compile(r'<style type="text/css">\n?(.*?)</style>\n?', re.S)
STYLESHEET_LINK = f'<link rel="stylesheet" href="{STYLESHEET.name}">\n'


def notebooks():
    """The lecture's notebooks, in the lecture's order (their names start with its number)."""
    return sorted(NOTEBOOKS.glob("*.ipynb"))


def rendered_copy(notebook):
    return RENDERED / (Path(notebook).stem + ".html")


def source_digest(notebook):
    """What a rendered copy is stamped with: the SHA-256 of the notebook file and of the
    helper modules beside it that it imports (``notebooks/*.py``), as committed."""
    digest = hashlib.sha256(Path(notebook).read_bytes())
    for helper in sorted(Path(notebook).parent.glob("*.py")):
        digest.update(helper.name.encode() + b"\0" + helper.read_bytes())
    return digest.hexdigest()


def stamp_of(html, pattern=STAMP_PATTERN):
    """The digest a rendered copy was stamped with, or None if it carries no stamp."""
    match = pattern.search(html)
    return match.group(1) if match else None


def outputs_digest(executed):
    """SHA-256 of what an executed notebook printed (its streams and plain-text results):
    the tests compare a fresh run's with the rendered copy's, so a library change that moves
    a printed number makes the copy stale, not silently wrong. Numbers count to 4
    significant digits (another BLAS may round the last bits differently); durations
    measured by the run and object addresses not at all."""
    digest = hashlib.sha256()
    for cell in executed.cells:
        for output in cell.get("outputs", ()):
            text = output.get("text") or output.get("data", {}).get("text/plain", "")
            text = DURATION.sub("(time)", ADDRESS.sub("0x", "".join(text)))
            digest.update(NUMBER.sub(lambda m: f"{float(m.group()):.4g}", text).encode())
    return digest.hexdigest()


def kernel_environment():
    """The environment of the kernel: this checkout's ``src`` first on the path, so a
    notebook runs the code beside it whatever gradwise is installed."""
    env = dict(os.environ)
    paths = [str(ROOT / "src"), env.get("PYTHONPATH", "")]
    env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
    return env


def execute(notebook, timeout=CELL_TIMEOUT, folder=None):
    """Run every cell of ``notebook`` in a fresh kernel, in ``folder`` (default: its own);
    the executed notebook. A cell that raises (a failed ``assert`` included) raises
    ``nbclient.exceptions.CellExecutionError`` naming the cell and the error."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(notebook, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(folder or Path(notebook).parent)}},
    )
    client.execute(env=kernel_environment())
    return nb


def to_html(executed, digest):
    """The executed notebook as one HTML page, pictures embedded, stamped with ``digest``."""
    from nbconvert import HTMLExporter

    html, _ = HTMLExporter(template_name="lab").from_notebook_node(executed)
    printed = outputs_digest(executed)
    stamps = STAMP.format(digest=digest) + "\n" + OUTPUTS_STAMP.format(digest=printed)
    return html.replace("<head>", "<head>\n" + stamps, 1)


def with_shared_style(html):
    """``(page, css)``: the page with the template's theme (the ``<style type="text/css">``
    blocks of its head; a cell's output keeps its own styles) replaced by one link, where the
    first block stood, to the stylesheet that holds their CSS in the same order."""
    end = html.index("</head>")
    blocks = list(STYLE_BLOCK.finditer(html, 0, end))
    if not blocks:
        return html, ""
    css = "\n".join(block.group(1) for block in blocks)
    first = blocks[0].start()
    head = STYLE_BLOCK.sub("", html[first:end])
    return html[:first] + STYLESHEET_LINK + head + html[end:], css


def render(notebook):
    """Execute ``notebook`` and write its rendered copy and the shared stylesheet; the path
    of the copy."""
    page, css = with_shared_style(to_html(execute(notebook), source_digest(notebook)))
    target = rendered_copy(notebook)
    _write(STYLESHEET, css)
    _write(target, page)
    return target


def _write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)  # never a half-written file


def main(names):
    chosen = notebooks()
    if names:
        known = {p.stem: p for p in chosen}
        unknown = [n for n in names if Path(n).stem not in known]
        if unknown:
            print(f"no notebook {unknown[0]!r}; known: {', '.join(known)}", file=sys.stderr)
            return 2
        chosen = [known[Path(n).stem] for n in names]
    for notebook in chosen:
        started = time.perf_counter()
        target = render(notebook)
        size = target.stat().st_size / 1e6
        seconds = time.perf_counter() - started
        print(f"{target.relative_to(ROOT)}: {size:.1f} MB, {seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
