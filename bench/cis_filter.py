#!/usr/bin/env python3
"""CIS root-usage filter over a stream of CloudTrail log documents, in plain Python.

Reads standard input: the decompressed contents of many CloudTrail log files
back to back (e.g. `gzip -dc *.json.gz`), i.e. a sequence of JSON documents
{"Records": [...]} with no separator. Writes, one JSON object a line (like
`jq -c`), every record that the CIS root-usage metric filter matches:

    userIdentity.type == "Root" and userIdentity.invokedBy == null
    and eventType != "AwsServiceEvent"

This is the baseline bench/scan.sh compares `rootguard scan` against: the same
work done with the standard library's json module in one process.
"""

import io
import json
import sys

CHUNK = 16 << 20  # characters read at a time; a log file is well under this


def records(stream):
    """Yield every record of every document in a concatenated JSON stream."""
    decoder = json.JSONDecoder()
    buf = ""
    pos = 0
    eof = False
    while True:
        # Skip whitespace between documents.
        while pos < len(buf) and buf[pos] in " \t\r\n":
            pos += 1
        if pos >= len(buf):
            if eof:
                return
            buf, pos = stream.read(CHUNK), 0
            eof = buf == ""
            continue
        try:
            doc, end = decoder.raw_decode(buf, pos)
        except json.JSONDecodeError:
            # Most likely the document runs past the end of the buffer: read
            # more and try again. At end of input it really is invalid.
            if eof:
                raise
            more = stream.read(CHUNK)
            eof = more == ""
            buf, pos = buf[pos:] + more, 0
            continue
        pos = end
        recs = doc.get("Records") if isinstance(doc, dict) else None
        if not isinstance(recs, list):
            raise ValueError("document without a Records array")
        yield from recs


def main():
    stream = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8")
    out = sys.stdout
    dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
    n = 0
    for r in records(stream):
        ui = r.get("userIdentity")
        if not isinstance(ui, dict):
            continue
        if ui.get("type") == "Root" and ui.get("invokedBy") is None and r.get("eventType") != "AwsServiceEvent":
            out.write(dumps(r))
            out.write("\n")
            n += 1
    out.flush()
    print(f"cis_filter.py: {n} matching records", file=sys.stderr)


if __name__ == "__main__":
    main()
