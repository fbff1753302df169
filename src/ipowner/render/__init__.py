"""Renderers: every document the library makes, in every format, through one entry point.

    render(document, fmt, out, *, kind=None, width=None)

writes a lookup, traffic, report or diff document in a format (``formats(kind)`` lists them;
``companions(kind, fmt)`` the tables a one-kind format such as CSV writes beside the main one);
``register(kind, fmt, writer)`` adds or replaces a writer. One module per format and document kind
(``report_json``, ``lookup_csv``, ``markdown``, ``html``, ...), the terminal views in ``terminal/``.
Renderers never touch the network; all untrusted text goes through ``escape``.
"""

from ipowner.render._registry import (
    Writer,
    companions,
    formats,
    is_binary,
    kind_of,
    kinds,
    register,
    render,
    writer_for,
)

__all__ = ["Writer", "companions", "formats", "is_binary", "kind_of", "kinds", "register", "render", "writer_for"]
