#!/usr/bin/env python3
"""A capture whose tasks carry wide args: the first N tasks of a capture, each task's args
replaced by a ~1.7 KB text of its own (the same in every event that carries args). Prints the
number of tasks and the bytes of JSON their events carry (each event as json.dumps writes it),
the yardstick of the journal's bytes per stored task in bench/RESULTS.md.

    python3 tools/wide_args_capture.py tests/corpus/synth-2k/capture.jsonl 1500 > wide.jsonl
"""
import json
import random
import sys

source, limit = sys.argv[1], int(sys.argv[2])
random.seed(7)
texts, carried = {}, 0
for line in open(source):
    message = json.loads(line)
    events = json.loads(message["body"])
    single = isinstance(events, dict)
    kept = []
    for event in [events] if single else events:
        uuid = event.get("uuid")
        if uuid:
            if uuid not in texts:
                if len(texts) >= limit:
                    continue
                texts[uuid] = "".join(random.choice("abcdefghijklmnopqrstuvwxyz0123456789 ") for _ in range(1700))
            if "args" in event:
                event["args"] = "('" + texts[uuid] + "',)"
            carried += len(json.dumps(event))
        kept.append(event)
    if kept:
        message["body"] = json.dumps(kept[0] if single else kept)
        print(json.dumps(message))
print(f"{len(texts)} tasks, {carried} bytes of event JSON, {carried / len(texts):.0f} per task", file=sys.stderr)
