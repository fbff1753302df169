"""The shipped reference tables, each parsed once on first use.

``countries`` (ISO codes and names, both directions), ``registries`` (the RIRs and NIRs: seats, names,
handles, RDAP and whois services), ``cloud`` (cloud and CDN operators by AS and holder name), ``psl``
(registered domains from the Public Suffix List), ``iana`` (IANA's address tables).
"""
