"""Execute the lecture notebooks and write their rendered copies (HTML, pictures embedded).

    python tools/render_notebooks.py            # every notebook in notebooks/
    python tools/render_notebooks.py 03_optimization   # some of them, by name

The notebooks in ``notebooks/`` are kept without outputs; their outputs exist only in the
rendered copies ``docs/notebooks/NAME.html``, each made from a fresh run of this checkout's
code and stamped with the SHA-256 of the notebook (and of its helper module) it was made
from. The tests execute every notebook and check every stamp, so a rendered copy whose
notebook changed since is caught.
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


def render(notebook):
    """Execute ``notebook`` and write its rendered copy; the path written."""
    digest = source_digest(notebook)
    html = to_html(execute(notebook), digest)
    target = rendered_copy(notebook)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.write_text(html, encoding="utf-8")
    partial.replace(target)  # never a half-written copy
    return target


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
