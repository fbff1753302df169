"""Terminal views (rich): one renderable per document, each in its own module.

``LookupView`` (``lookup.py``), ``TrafficView`` (``traffic.py``), ``ReportView`` (``report.py``) and
``DiffView`` (``diff.py``) can be printed on any rich ``Console``; each module's ``write_terminal_*``
makes the console the command line uses (width, colour only on a terminal) and prints the view.
Untrusted text reaches rich only as ``Text`` built from ``terminal_safe`` output.
"""
