"""PCAPdroid's "export connections as CSV": one row per connection, counts as seen by the phone.

``IPProto,SrcIP,SrcPort,DstIp,DstPort,UID,App,PackageName,Proto,Status,Info,BytesSent,BytesRcvd,PktsSent,
PktsRcvd,FirstSeen,LastSeen[,Malicious]``. SrcIP is the phone; byte counts are IP-level; times are
milliseconds since the epoch; Info holds the name PCAPdroid saw (DNS query, SNI or HTTP host).

A DNS row (Proto ``DNS``) is a query to a resolver: its Info is the name asked for, which belongs to the
answer's addresses, not to the resolver the row goes to. The export has no answers, so the name is not
given to the resolver; the rows that connect to the answers carry the name in their own Info.
"""

from __future__ import annotations

from ipowner.capture.context import ReadContext
from ipowner.capture.formats import csv as generic

COLUMNS = {
    "proto": "IPProto",
    "device": "SrcIP",
    "address": "DstIp",
    "port": "DstPort",
    "app": "App",
    "hostname": "Info",
    "bytes_sent": "BytesSent",
    "bytes_received": "BytesRcvd",
    "packets_sent": "PktsSent",
    "packets_received": "PktsRcvd",
    "first_seen": "FirstSeen",
    "last_seen": "LastSeen",
}


# The Proto (layer 7) values of rows whose Info is a queried name rather than the destination's own name.
QUERY_PROTOCOLS = frozenset({"dns", "mdns", "llmnr"})


def read(ctx: ReadContext) -> None:
    generic.read(ctx, COLUMNS, source="pcapdroid", app_fallback=("PackageName", "UID"),
                 query_rows=("Proto", QUERY_PROTOCOLS))
