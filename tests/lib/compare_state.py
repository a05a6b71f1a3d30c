#!/usr/bin/env python3
"""tests/lib/compare_state.py: does a Redis state equal the ground truth?

  compare_state.py EXPECTED.json ACTUAL.json [--ignore NAME]... [--max N]

EXPECTED is a truth from bench/gen (--truth, --truth-until, --truth-of),
ACTUAL a dump from tests/lib/redis_state.py. Exit 0 when they are equal;
otherwise print the first differences (default 20), each with its path, the
expected and the actual value, then how many there were in all, and exit 1.

--ignore NAME leaves out a totals field ("rejected"), a whole section
("transfers") or a dotted path ("totals.rejected", "transfers.tr-0001.reports").
A transfer whose expected report_id is null (input lines without report_id,
whose ids the codec derives) has its report_id not compared.
Exit status: 0 equal, 1 different, 2 usage or unreadable file.
"""

import argparse
import json
import sys

SECTIONS = ["totals", "inmates_by_month", "inmates_by_route", "transfers_by_destination",
            "inmates_by_destination", "persons_by_affiliation", "largest_transfers", "transfers"]
ABSENT = object()


def show(v):
        return "<absent>" if v is ABSENT else json.dumps(v, ensure_ascii=False)


def diff(exp, act, path, ignored, out):
        if path in ignored:
                return
        if isinstance(exp, dict) and isinstance(act, dict):
                for k in sorted(set(exp) | set(act)):
                        diff(exp.get(k, ABSENT), act.get(k, ABSENT),
                             "%s.%s" % (path, k) if path else k, ignored, out)
                return
        if path.startswith("transfers.") and path.endswith(".report_id") and exp is None:
                return
        # JSON numbers: 3 and 3.0 are the same count; True is not 1.
        same = (exp == act and type(exp) is type(act)) or (
                type(exp) in (int, float) and type(act) in (int, float) and exp == act)
        if not same:
                out.append((path, exp, act))


def main():
        ap = argparse.ArgumentParser(prog="compare_state.py",
                                     description="Compare a Redis state dump with the truth.",
                                     epilog="Exit status: 0 equal, 1 different, 2 usage.")
        ap.add_argument("expected")
        ap.add_argument("actual")
        ap.add_argument("--ignore", action="append", default=[], metavar="NAME",
                        help="a totals field, a section or a dotted path to leave out")
        ap.add_argument("--max", type=int, default=20, help="differences to print (default 20)")
        args = ap.parse_args()
        docs = []
        for path in (args.expected, args.actual):
                try:
                        with open(path, encoding="utf-8") as f:
                                d = json.load(f)
                except (OSError, ValueError) as e:
                        sys.stderr.write("compare_state.py: cannot read %r: %s\n" % (path, e))
                        return 2
                if not isinstance(d, dict):
                        sys.stderr.write("compare_state.py: %r: expected a JSON object\n" % path)
                        return 2
                docs.append(d)
        ignored = set()
        for name in args.ignore:
                if "." in name or name in SECTIONS:
                        ignored.add(name)
                else:
                        ignored.add("totals." + name)
        exp, act = docs
        out = []
        # Both files must hold every section; one missing in both is a usage mistake.
        for s in SECTIONS:
                if s not in exp and s not in act and s not in ignored:
                        sys.stderr.write("compare_state.py: neither file has section %r\n" % s)
                        return 2
        diff(exp, act, "", ignored, out)
        if not out:
                print("compare_state.py: equal (%d transfers, %d inmates)"
                      % (exp.get("totals", {}).get("transfers", 0),
                         exp.get("totals", {}).get("inmates", 0)))
                return 0
        for path, e, a in out[:args.max]:
                print("%s: expected %s, actual %s" % (path, show(e), show(a)))
        sections = sorted({p.split(".", 1)[0] for p, _, _ in out})
        print("compare_state.py: %d difference%s (in %s) between %s and %s"
              % (len(out), "" if len(out) == 1 else "s", ", ".join(sections),
                 args.expected, args.actual))
        return 1


if __name__ == "__main__":
        sys.exit(main())
