#!/usr/bin/env python3
"""Checks scripts/check-layers itself: on small made-up trees it must accept
includes that run down the layers, and refuse one that runs back up, one from
a public header into src/, and a file in a folder no layer names.

Usage: check_layers_test.py PATH/TO/check-layers
"""
import os
import subprocess
import sys
import tempfile

CHECK = sys.argv[1]


def make_tree(root, files):
    for path, text in files.items():
        full = os.path.join(root, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w", encoding="utf-8") as f:
            f.write(text)


def run(files):
    with tempfile.TemporaryDirectory() as root:
        make_tree(root, files)
        result = subprocess.run([sys.executable, CHECK, root],
                                capture_output=True, text=True)
        return result.returncode, result.stdout


GOOD = {
    "include/entitle/ids.h": "",
    "include/entitle/store.h": '#include "entitle/ids.h"\n',
    "src/base/links.h": '#include "entitle/ids.h"\n',
    "src/store/schema.h": '#include "base/links.h"\n',
    "src/service/operation.h": '#include "store/schema.h"\n',
    "src/organizations/memberships.h": '#include "service/operation.h"\n',
    "src/identities/identities.cc": '#include "organizations/memberships.h"\n',
    "src/directory.cc": '#include "identities/identities.cc"\n'
                        '#include <vector>\n#include "absl/status/status.h"\n',
}

failures = []


def expect(name, files, code, mention=None):
    got, out = run(files)
    if got != code or (mention is not None and mention not in out):
        failures.append(f"{name}: exit {got}, expected {code}; output:\n{out}")


expect("layered tree", GOOD, 0)
expect("service includes a service",
       {**GOOD, "src/service/authorization.cc":
        '#include "organizations/memberships.h"\n'},
       1, "src/service may not include src/organizations")
expect("base includes the store",
       {**GOOD, "src/base/csv.cc": '#include "store/schema.h"\n'},
       1, "src/base may not include src/store")
expect("organizations include identities",
       {**GOOD, "src/organizations/memberships.cc":
        '#include "identities/identities.cc"\n'},
       1, "src/organizations may not include src/identities")
expect("public header includes src",
       {**GOOD, "include/entitle/clock.h": '#include "base/links.h"\n'},
       1, "entitle may not include src/base")
expect("nested folder belongs to its layer",
       {**GOOD, "src/store/sqlite/store.cc": '#include "service/operation.h"\n'},
       1, "src/store may not include src/service")
expect("folder in no layer",
       {**GOOD, "src/misc/thing.cc": ""}, 1, "in no known layer")

for failure in failures:
    print(failure)
print(f"check_layers_test: {7 - len(failures)} passed, {len(failures)} failed")
sys.exit(1 if failures else 0)
