"""Reports: looked-up traffic judged per destination, and what changed between two reports.

``report`` (``report()``, ``build_report``: composes the rest), ``jurisdiction`` (the judgement and
verdict of one record), ``rollups`` (bytes per jurisdiction fact), ``timeline`` (bytes over time),
``freshness`` (data age against the capture), ``policy`` (the ``--fail-on`` gate), ``diff``.
"""
