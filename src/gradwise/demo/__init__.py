"""``gradwise demo``: a local web page where gradwise computes and the browser draws.

Three views, one WebSocket per tab: a linear classifier on 2-D points (:mod:`.plane`),
optimizers racing on a 2-D surface (:mod:`.racing`), and a linear classifier training on
images (:mod:`.trainer`). :mod:`.session` checks every message a page sends against
:mod:`.limits`; :mod:`.app` is the ASGI application (Starlette) behind the Host/Origin
check of :mod:`.guard`; :mod:`.server` runs it with uvicorn. The page itself is plain
HTML, CSS and JavaScript in ``static/``.

Starlette and uvicorn are the optional extra ``gradwise[demo]``: this package's
``__init__`` imports neither, :mod:`.app` and :mod:`.server` do.
"""

#: The import names of the extra ``gradwise[demo]`` and the line that says how to get it.
REQUIRES = ("starlette", "uvicorn", "websockets")
INSTALL_HINT = 'its web server is not installed: pip install "gradwise[demo]"'


def missing_requirements():
    """The modules of the ``demo`` extra that cannot be imported here."""
    from importlib.util import find_spec

    return [name for name in REQUIRES if find_spec(name) is None]
