"""Text that came from a dataset (folder and file names), made safe to print."""


def printable(name) -> str:
    """``name`` with every character that is not printable escaped as Python writes it.

    Class and file names come from folder names, which may hold a newline, an ANSI escape
    (``"cat\\n\\x1b[31mred"``), a bidirectional override or, for a name that is not UTF-8,
    a lone surrogate (``os.fsdecode``'s ``surrogateescape``). Kept as they are in the data,
    they are passed through this function wherever they are printed: the result is one line,
    writes no control sequence to a terminal and encodes as UTF-8. Printable names, spaces
    and non-ASCII letters included, are returned unchanged.
    """
    name = str(name)
    if name.isprintable():
        return name
    return "".join(ch if ch.isprintable() else _escape(ch) for ch in name)


def _escape(ch):
    code = ord(ch)
    if ch in "\n\r\t":
        return repr(ch)[1:-1]
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"
