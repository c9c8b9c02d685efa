"""Reads Prometheus exposition text on stdin, parses it with prometheus_client's own parser, and
prints every sample as JSON: [{"family", "type", "name", "labels", "value"}]. A parse error exits 1."""
import json
import math
import sys

from prometheus_client.parser import text_string_to_metric_families

out = []
for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        value = s.value
        if math.isinf(value):
            value = "+Inf" if value > 0 else "-Inf"
        out.append({"family": family.name, "type": family.type, "name": s.name, "labels": s.labels, "value": value})
json.dump(out, sys.stdout)
