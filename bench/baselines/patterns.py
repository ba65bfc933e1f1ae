#!/usr/bin/env python3
"""The literal strings of a Sigma rule folder's detections, one per line, for `rg -F -f`.

Every string value under `detection` (lists too), split at Sigma's wildcards (* and ?), keeping
the pieces of 3 characters or more: what a multi-literal scanner has to look for to find the
records the rules could match. Regular expressions (`|re`) and field references are skipped.
Usage: patterns.py RULES_DIR > patterns.txt
"""
import pathlib
import re
import sys

import yaml


def strings(node, modifiers=""):
    if isinstance(node, dict):
        for key, value in node.items():
            mods = str(key).split("|")[1:]
            if "re" in mods or "fieldref" in mods or "expand" in mods:
                continue
            yield from strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from strings(value)
    elif isinstance(node, str):
        yield node


def main():
    literals = set()
    for path in sorted(pathlib.Path(sys.argv[1]).rglob("*.yml")):
        if path.name.endswith(".test.yml"):
            continue
        for doc in yaml.safe_load_all(path.read_text()):
            if not isinstance(doc, dict) or "detection" not in doc:
                continue
            detection = {k: v for k, v in doc["detection"].items() if k != "condition"}
            for s in strings(detection):
                for piece in re.split(r"(?<!\\)[*?]", s):
                    piece = piece.replace("\\*", "*").replace("\\?", "?")
                    if len(piece) >= 3:
                        literals.add(piece)
    sys.stdout.write("".join(p + "\n" for p in sorted(literals)))


if __name__ == "__main__":
    main()
