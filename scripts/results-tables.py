#!/usr/bin/env python3
"""Print the tables of docs/results.md, as Markdown, from the JSON reports
that scripts/results.sh writes.

Usage: scripts/results-tables.py [FOLDER] [--fixtures DIR] [--section NAME ...]

FOLDER defaults to `results`. Sections: random, mnist, targeted,
reconstruction, vnncomp (default: all). A report that is missing (or not yet
complete, for a run in progress) prints as '-' rather than stopping the
script. Standard library only.
"""

import argparse
import json
import os
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_FIXTURES = os.path.normpath(os.path.join(HERE, "..", "..", "shared", "fixtures"))

DASH = "-"

# The file names and variants below mirror scripts/results.sh.
RANDOM_NETS = ["rand_small_s1", "rand_small_s2", "rand_small_s3",
               "rand_large_s1", "rand_large_s2", "rand_large_s3"]
RANDOM_METHODS = ["adr", "gd"]

MNIST_TAGS = [
    ("pgd025", "PGD-trained CNN, eps 0.25 (tag `pgd025`)", [
        ("adr", "--method adr"),
        ("pgd", "--method pgd"),
        ("gd", "--method gd"),
        ("auto", "--method auto"),
        ("adr_sign", "--method adr --set x_step=sign --set lr=0.0025"),
        ("adr_unit", "--method adr --set x_step=unit"),
        ("pgd_restarts4", "--method pgd --restarts 4"),
        ("adr_sign_restarts4", "--method adr --set x_step=sign --set lr=0.0025 --restarts 4"),
    ]),
    ("clean01", "Clean CNN, eps 0.1 (tag `clean01`)", [
        ("adr", "--method adr"),
        ("pgd", "--method pgd"),
        ("gd", "--method gd"),
        ("auto", "--method auto"),
        ("adr_sign", "--method adr --set x_step=sign --set lr=0.001"),
    ]),
]

TARGETED_IMAGES = range(20)
TARGETED_LABELS = [7, 2, 1, 0, 4, 1, 4, 9, 5, 9, 0, 6, 9, 0, 1, 5, 9, 7, 3, 4]
TARGETED_METHODS = ["adr", "pgd", "auto"]

VAE_TARGETS = range(16)
VAE_METHODS = ["adr", "gd"]

ACAS_NETS = range(1, 10)
ACAS_PROPS = range(1, 11)
VNN_METHODS = ["adr", "pgd"]


# ---------------------------------------------------------------- helpers

class Reports:
    """Loads reports from the results folder, remembering what was missing
    or unreadable so that the summary at the end can list it."""

    def __init__(self, folder):
        self.folder = folder
        self.missing = []
        self.unreadable = []
        self._cache = {}

    def path(self, name):
        return os.path.join(self.folder, name)

    def load(self, name):
        if name in self._cache:
            return self._cache[name]
        path = self.path(name)
        data = None
        if not os.path.exists(path):
            self.missing.append(name)
        else:
            try:
                with open(path, encoding="utf-8") as f:
                    data = json.load(f)
            except (OSError, ValueError) as e:
                self.unreadable.append("%s (%s)" % (name, e.__class__.__name__))
        self._cache[name] = data
        return data

    def text_first_line(self, name):
        try:
            with open(self.path(name), encoding="utf-8") as f:
                return f.readline().strip() or None
        except OSError:
            return None


def get(d, *keys):
    """d[k1][k2]... or None if any step is missing."""
    for k in keys:
        if isinstance(d, dict) and k in d:
            d = d[k]
        elif isinstance(d, list) and isinstance(k, int) and -len(d) <= k < len(d):
            d = d[k]
        else:
            return None
    return d


def fmt(x, spec):
    if x is None:
        return DASH
    try:
        return format(x, spec)
    except (TypeError, ValueError):
        return str(x)


def fmt_ms(seconds):
    """Seconds shown as milliseconds with 2-3 significant figures."""
    if seconds is None:
        return DASH
    ms = seconds * 1000.0
    if ms >= 1.0:
        return "%.2f ms" % ms
    return "%.3g ms" % ms


def fmt_margin(x):
    if x is None:
        return DASH
    if abs(x) < 0.1:
        return "%.3g" % x
    return "%.2f" % x


def fmt_seconds(x):
    return DASH if x is None else "%.3f" % x


def yes_no(b, bold_yes=True):
    if b is None:
        return DASH
    if b:
        return "**yes**" if bold_yes else "yes"
    return "no"


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def table(header, rows, align=None):
    """Markdown table; align is a string of 'l'/'r' per column."""
    align = align or "l" * len(header)
    lines = ["| " + " | ".join(header) + " |",
             "| " + " | ".join("---:" if a == "r" else "---" for a in align) + " |"]
    for row in rows:
        lines.append("| " + " | ".join(DASH if c is None else str(c) for c in row) + " |")
    return "\n".join(lines)


def out(*parts):
    print(*parts)


# ---------------------------------------------------------------- 1. random networks

def section_random(rep):
    out("## 1. The paper's random networks: maximise the output over [-1, 1]^n from x = 0")
    out()
    rows = []
    best = {}
    for net in RANDOM_NETS:
        reports = {m: rep.load("random_%s_%s.json" % (net, m)) for m in RANDOM_METHODS}
        objs = {m: get(reports[m], "best", "objective") for m in RANDOM_METHODS}
        best[net] = objs
        known = [v for v in objs.values() if v is not None]
        top = max(known) if len(known) == len(RANDOM_METHODS) else None
        for i, m in enumerate(RANDOM_METHODS):
            r = reports[m]
            obj = objs[m]
            obj_s = fmt(obj, ".2f")
            if top is not None and obj == top:
                obj_s = "**%s**" % obj_s
            rec = get(r, "adr", "normalisers", "recomputes")
            req = get(r, "adr", "normalisers", "requests")
            rec_s = "%s of %s" % (rec, req) if rec is not None and req is not None else DASH
            rows.append([net if i == 0 else "", m.upper(), obj_s,
                         fmt(get(r, "best", "iteration"), "d"),
                         fmt_ms(get(r, "timing", "seconds_per_iteration")), rec_s])
    out(table(["network", "method", "best true output", "found at iteration",
               "time / iteration", "normaliser recomputes"], rows, "llrrrr"))
    out()
    out("ADR minus GD (best true output):")
    out()
    rows = []
    wins = 0
    counted = 0
    for net in RANDOM_NETS:
        a, g = best[net].get("adr"), best[net].get("gd")
        if a is None or g is None:
            rows.append([net, DASH, DASH])
            continue
        counted += 1
        wins += a > g
        pct = "%+.1f %%" % (100.0 * (a - g) / abs(g)) if g != 0 else DASH
        rows.append([net, "%+.2f" % (a - g), pct])
    out(table(["network", "ADR - GD", "ADR - GD (% of GD)"], rows, "lrr"))
    out()
    out("ADR beats GD on %d of %d networks with both reports." % (wins, counted))
    out()
    # Share of the ADR run spent on normalisers, per network.
    parts = []
    for net in RANDOM_NETS:
        r = rep.load("random_%s_adr.json" % net)
        ns, ts = get(r, "adr", "normalisers", "seconds"), get(r, "timing", "total_seconds")
        if ns is not None and ts:
            parts.append("%s %.2f s of %.2f s" % (net, ns, ts))
    if parts:
        out("ADR normaliser time (`adr.normalisers.seconds` of `timing.total_seconds`): "
            + "; ".join(parts) + ".")
        out()


# ---------------------------------------------------------------- 2. MNIST audits

def audit_sets(report):
    """(attacked indices, flipped indices) of an audit report, or (None, None)."""
    samples = get(report, "samples")
    if samples is None:
        return None, None
    attacked = {s.get("index") for s in samples if s.get("attacked")}
    flipped = {s.get("index") for s in samples if s.get("attacked") and s.get("success")}
    return attacked, flipped


def count_by(samples, key):
    counts = {}
    for s in samples:
        v = s.get(key) or "(none)"
        counts[v] = counts.get(v, 0) + 1
    return ", ".join("%s %d" % (k, counts[k]) for k in sorted(counts)) or "none"


def section_mnist_tag(rep, tag, title, variants):
    out("### %s" % title)
    out()
    reports = {name: rep.load("mnist_%s_%s.json" % (tag, name)) for name, _ in variants}
    _, pgd_flipped = audit_sets(reports.get("pgd"))
    successes = {}
    for name, _ in variants:
        n = get(reports[name], "summary", "successes")
        successes[name] = n
    top = max([v for v in successes.values() if v is not None], default=None)
    rows = []
    union = set()
    for name, args in variants:
        r = reports[name]
        n = successes[name]
        attacked = get(r, "summary", "attacked")
        _, flipped = audit_sets(r)
        if flipped is not None:
            union |= flipped
        succ_s = "%s / %s" % (n, attacked) if n is not None and attacked is not None else DASH
        if n is not None and n == top:
            succ_s = "**%s**" % succ_s
        rate = "%.0f %%" % (100.0 * n / attacked) if n is not None and attacked else DASH
        if name == "pgd" or flipped is None or pgd_flipped is None:
            extra, missed = DASH, DASH
        else:
            extra, missed = len(flipped - pgd_flipped), len(pgd_flipped - flipped)
        rows.append([name, "`%s`" % args, succ_s, rate, extra, missed])
    out(table(["variant", "`<args>`", "successes", "rate", "flips PGD misses",
               "misses PGD flips"], rows, "llrrrr"))
    out()
    out("(Audit reports carry no timings, so the wall-time column is left out.)")
    out()

    auto = get(reports.get("auto"), "samples")
    if auto is not None:
        attacked = [s for s in auto if s.get("attacked")]
        won = [s for s in attacked if s.get("success")]
        lost = [s for s in attacked if not s.get("success")]
        out("`auto` by phase (`samples[].found_by`): flipped %d of %d (%s). "
            "Unflipped %d, best point from: %s."
            % (len(won), len(attacked), count_by(won, "found_by"),
               len(lost), count_by(lost, "found_by")))
    else:
        out("`auto` by phase: -")
    present = [name for name, _ in variants if get(reports[name], "samples") is not None]
    out()
    out("Distinct images flipped across the %d of %d variants present: %d."
        % (len(present), len(variants), len(union)))
    out()
    header, row = ["first 20 images"], ["successes"]
    for name, _ in variants:
        samples = get(reports[name], "samples")
        header.append(name)
        if samples is None:
            row.append(DASH)
            continue
        first = [s for s in samples if isinstance(s.get("index"), int) and s["index"] < 20
                 and s.get("attacked")]
        row.append("%d / %d" % (sum(1 for s in first if s.get("success")), len(first)))
    out(table(header, [row], "l" + "r" * len(variants)))
    out()


def section_mnist(rep):
    out("## 2. MNIST untargeted attacks, first 100 test images")
    out()
    for tag, title, variants in MNIST_TAGS:
        section_mnist_tag(rep, tag, title, variants)


# ---------------------------------------------------------------- 3. targeted

def section_targeted(rep):
    out("## 3. Targeted attack, PGD-trained CNN, eps 0.25")
    out()
    rows = []
    achieved = {m: 0 for m in TARGETED_METHODS}
    present = {m: 0 for m in TARGETED_METHODS}
    spi = {m: [] for m in TARGETED_METHODS}
    pgd_lower, adr_lower, compared = [], [], 0
    auto_below_pgd = []
    for i in TARGETED_IMAGES:
        reports = {m: rep.load("targeted_%d_%s.json" % (i, m)) for m in TARGETED_METHODS}
        goal = next((get(r, "goal") for r in reports.values() if get(r, "goal")), None)
        label = get(goal, "label")
        target = get(goal, "target")
        if label is None:
            label = TARGETED_LABELS[i]
            target = (label + 1) % 10
        start = next((get(r, "initial", "score") for r in reports.values()
                      if get(r, "initial", "score") is not None), None)
        ach, margin = {}, {}
        for m in TARGETED_METHODS:
            r = reports[m]
            ach[m] = get(r, "achieved")
            margin[m] = get(r, "best", "score")
            if r is not None:
                present[m] += 1
                achieved[m] += bool(ach[m])
                spi[m].append(get(r, "timing", "seconds_per_iteration"))
        if margin["adr"] is not None and margin["pgd"] is not None:
            compared += 1
            if margin["pgd"] < margin["adr"]:
                pgd_lower.append(i)
            elif margin["adr"] < margin["pgd"]:
                adr_lower.append(i)
        if margin["auto"] is not None and margin["pgd"] is not None and margin["auto"] < margin["pgd"]:
            auto_below_pgd.append(i)
        rows.append([i, "%s -> %s" % (label, target)]
                    + [yes_no(ach[m]) for m in TARGETED_METHODS]
                    + [fmt_margin(start)] + [fmt_margin(margin[m]) for m in TARGETED_METHODS])
    out(table(["image", "label -> target", "ADR", "PGD", "auto", "margin at start",
               "margin ADR", "margin PGD", "margin auto"], rows, "rllllrrrr"))
    out()
    out("Margin = `best.score` (must go below 0); margin at start = `initial.score`.")
    out()
    out("**Successes: " + ", ".join("%s %d / %d" % (m.upper() if m != "auto" else m,
                                                     achieved[m], present[m])
                                     for m in TARGETED_METHODS) + ".**")
    out("PGD's margin is lower than ADR's on %d of %d images; ADR's is lower on %d%s."
        % (len(pgd_lower), compared, len(adr_lower),
           " (images %s)" % ", ".join(map(str, adr_lower)) if adr_lower else ""))
    out("`auto`'s margin is below PGD's on %d images." % len(auto_below_pgd))
    for m in ("adr", "pgd"):
        v = [x for x in spi[m] if x is not None]
        if v:
            out("Seconds per iteration, %s: median %s (%s to %s)."
                % (m.upper(), fmt_ms(median(v)), fmt_ms(min(v)), fmt_ms(max(v))))
        else:
            out("Seconds per iteration, %s: -" % m.upper())
    out()


# ---------------------------------------------------------------- 4. reconstruction

def fmt_mse_pair(a, g):
    """Four decimals, or five where four would not tell the two apart."""
    digits = 4
    if a is not None and g is not None and a != g and format(a, ".4f") == format(g, ".4f"):
        digits = 5
    return fmt(a, ".%df" % digits), fmt(g, ".%df" % digits)


def section_reconstruction(rep):
    out("## 4. Reconstruction with the VAE decoder")
    out()
    rows = []
    mses = {m: [] for m in VAE_METHODS}
    gd_lower, both = 0, 0
    ratios = []
    spi = {m: [] for m in VAE_METHODS}
    best_iter = {m: [] for m in VAE_METHODS}
    recomputes = []
    for i in VAE_TARGETS:
        reports = {m: rep.load("vae_%d_%s.json" % (i, m)) for m in VAE_METHODS}
        mse = {m: get(reports[m], "best", "objective") for m in VAE_METHODS}
        for m in VAE_METHODS:
            r = reports[m]
            if mse[m] is not None:
                mses[m].append(mse[m])
            spi[m].append(get(r, "timing", "seconds_per_iteration"))
            best_iter[m].append(get(r, "best", "iteration"))
        recomputes.append(get(reports["adr"], "adr", "normalisers", "recomputes"))
        a_s, g_s = fmt_mse_pair(mse["adr"], mse["gd"])
        if mse["adr"] is not None and mse["gd"] is not None:
            both += 1
            if mse["gd"] < mse["adr"]:
                gd_lower += 1
                g_s = "**%s**" % g_s
            elif mse["adr"] < mse["gd"]:
                a_s = "**%s**" % a_s
            if mse["gd"] > 0:
                ratios.append((mse["adr"] / mse["gd"], i))
        rows.append([i, a_s, g_s])
    means = {m: (statistics.mean(mses[m]) if len(mses[m]) == len(VAE_TARGETS) else None)
             for m in VAE_METHODS}
    ma, mg = fmt(means["adr"], ".4f"), fmt(means["gd"], ".4f")
    if means["adr"] is not None and means["gd"] is not None:
        if means["gd"] < means["adr"]:
            mg = "**%s**" % mg
        elif means["adr"] < means["gd"]:
            ma = "**%s**" % ma
    rows.append(["**mean**", ma, mg])
    out(table(["target", "ADR MSE", "GD MSE"], rows, "rrr"))
    out()
    out("MSE = `best.objective`. GD's MSE is lower than ADR's on %d of %d targets." % (gd_lower, both))
    if ratios:
        lo, hi = min(ratios), max(ratios)
        out("ADR / GD MSE ratio: %.2f (target %d) to %.2f (target %d)." % (lo[0], lo[1], hi[0], hi[1]))
    if means["adr"] is not None and means["gd"] is not None and means["gd"] > 0:
        out("Mean MSE: ADR is %+.1f %% relative to GD." % (100.0 * (means["adr"] / means["gd"] - 1)))
    for m in VAE_METHODS:
        v = [x for x in spi[m] if x is not None]
        it = [x for x in best_iter[m] if x is not None]
        out("%s: median %s per iteration; best found at iteration %s."
            % (m.upper(), fmt_ms(median(v)) if v else DASH,
               "%d-%d" % (min(it), max(it)) if it else DASH))
    rc = [x for x in recomputes if x is not None]
    if rc:
        out("ADR normaliser recomputes: %d-%d." % (min(rc), max(rc)))
    out()


# ---------------------------------------------------------------- 5. VNN-COMP

def vnn_pairs(fixtures):
    """[(label, file stem)] in the order results.sh runs them."""
    pairs = [("ACAS Xu 1_%d, prop_%d" % (n, p), "vnn_acas_%d_%d" % (n, p))
             for n in ACAS_NETS for p in ACAS_PROPS]
    csv_path = os.path.join(fixtures, "vnncomp", "test", "test_instances.csv")
    try:
        with open(csv_path, encoding="utf-8") as f:
            for line in f:
                fields = [x.strip() for x in line.strip().split(",")]
                if len(fields) < 2 or not fields[0]:
                    continue
                onnx, prop = fields[0], fields[1]
                stem = onnx[:-5] if onnx.endswith(".onnx") else onnx
                pairs.append(("test %s, %s" % (stem, prop), "vnn_test_%s" % stem))
    except OSError:
        print("(test instances: %s not readable; test rows left out)" % csv_path)
        print()
    return pairs


def vnn_result(rep, stem, method):
    """dict(verdict, seconds, report) for one falsify run; verdict '-' when
    there is no report. Falls back on the .txt's first line for the verdict
    when the JSON is missing."""
    r = rep.load("%s_%s.json" % (stem, method))
    o = get(r, "outcome")
    if o is None:
        txt = rep.text_first_line("%s_%s.txt" % (stem, method))
        return {"verdict": ("%s (txt only)" % txt) if txt else None,
                "sat": txt == "sat", "seconds": None, "report": None}
    verdict = o.get("verdict")
    seconds = o.get("seconds")
    return {"verdict": verdict, "sat": verdict == "sat", "seconds": seconds, "report": r}


def confirmation_row(label, method, res):
    """[pair, method, all confirmed, runtimes, margins, note] for a sat result."""
    r = res["report"]
    notes = []
    cex = get(r, "outcome", "counterexample")
    confs = get(cex, "confirmations")
    if r is None:
        return [label, method.upper(), "**no**", DASH, DASH, "**no JSON report** (verdict from the .txt)"]
    if cex is None:
        notes.append("**no counterexample in report**")
    if not confs:
        notes.append("**confirmation missing**")
        confs = []
    ok = [c.get("runtime", "?") for c in confs if c.get("confirmed") is True]
    bad = [c.get("runtime", "?") for c in confs if c.get("confirmed") is not True]
    all_ok = bool(confs) and not bad
    if bad:
        notes.append("**not confirmed by: %s**" % ", ".join(bad))
    unconfirmed = get(r, "outcome", "unconfirmed")
    if unconfirmed:
        notes.append("%d unconfirmed candidate(s) discarded" % unconfirmed)
    top = get(r, "confirmation")
    if isinstance(top, dict):
        wanted = top.get("runtimes") or []
        got = {c.get("runtime") for c in confs}
        absent = [w for w in wanted if w not in got]
        if top.get("onnxruntime_unavailable"):
            # A runtime the report itself says was not available is noted
            # below, not flagged.
            absent = [w for w in absent if "onnx" not in str(w).lower()]
        if absent:
            notes.append("**listed in confirmation.runtimes but no result: %s**" % ", ".join(map(str, absent)))
        if top.get("onnxruntime_unavailable"):
            notes.append("ONNX Runtime unavailable (the report says why)")
    margins = ", ".join(fmt_margin(c.get("margin")) for c in confs) or DASH
    return [label, method.upper(), "yes" if all_ok else "**no**",
            ", ".join(ok) or DASH, margins, "; ".join(notes)]


def section_vnncomp(rep, fixtures):
    out("## 5. VNN-COMP: falsification, ACAS Xu and the test instances")
    out()
    pairs = vnn_pairs(fixtures)
    rows = []
    results = []
    for label, stem in pairs:
        res = {m: vnn_result(rep, stem, m) for m in VNN_METHODS}
        results.append((label, res))
        rows.append([label,
                     res["adr"]["verdict"], fmt_seconds(res["adr"]["seconds"]),
                     res["pgd"]["verdict"], fmt_seconds(res["pgd"]["seconds"])])
    out(table(["pair", "ADR verdict", "ADR seconds", "PGD verdict", "PGD seconds"],
              rows, "llrlr"))
    out()
    out("Seconds: `outcome.seconds` (to the counterexample for sat, the whole search otherwise).")
    out()

    # Totals.
    have = {m: sum(1 for _, r in results if r[m]["report"] is not None) for m in VNN_METHODS}
    sat = {m: {l for l, r in results if r[m]["sat"]} for m in VNN_METHODS}
    both_reports = [l for l, r in results if all(r[m]["report"] is not None for m in VNN_METHODS)]
    both = sat["adr"] & sat["pgd"]
    # "Only one of them" is counted where both methods have a report, so
    # that a run in progress does not count PGD's missing reports as misses.
    compared = set(both_reports)
    verdicts = {}
    for m in VNN_METHODS:
        c = {}
        for _, r in results:
            v = r[m]["verdict"] or "(missing)"
            c[v] = c.get(v, 0) + 1
        verdicts[m] = ", ".join("%s %d" % (k, c[k]) for k in sorted(c))
    rows = [
        ["pairs", len(pairs)],
        ["reports present: ADR / PGD / both", "%d / %d / %d" % (have["adr"], have["pgd"], len(both_reports))],
        ["verdicts ADR", verdicts["adr"]],
        ["verdicts PGD", verdicts["pgd"]],
        ["sat by ADR", len(sat["adr"])],
        ["sat by PGD", len(sat["pgd"])],
        ["sat by both", len(both)],
        ["sat by ADR only (pairs with both reports)", len((sat["adr"] - sat["pgd"]) & compared)],
        ["sat by PGD only (pairs with both reports)", len((sat["pgd"] - sat["adr"]) & compared)],
    ]
    times = {m: [r[m]["seconds"] for l, r in results if l in both] for m in VNN_METHODS}
    for m in VNN_METHODS:
        v = [x for x in times[m] if x is not None]
        rows.append(["median time to counterexample, %s, pairs both found (s)" % m.upper(),
                     fmt_seconds(median(v)) if v else DASH])
    faster = {m: 0 for m in VNN_METHODS}
    for l, r in results:
        if l in both and r["adr"]["seconds"] is not None and r["pgd"]["seconds"] is not None:
            if r["adr"]["seconds"] < r["pgd"]["seconds"]:
                faster["adr"] += 1
            elif r["pgd"]["seconds"] < r["adr"]["seconds"]:
                faster["pgd"] += 1
    rows.append(["pairs both found: ADR faster / PGD faster", "%d / %d" % (faster["adr"], faster["pgd"])])
    out(table(["total", "value"], rows, "lr"))
    out()
    order = [x for x, _ in pairs]
    only = {m: sorted((sat[m] - sat[o]) & compared, key=order.index)
            for m, o in (("adr", "pgd"), ("pgd", "adr"))}
    for m in VNN_METHODS:
        if only[m]:
            out("Sat by %s only: %s." % (m.upper(), "; ".join(only[m])))
    if only["adr"] or only["pgd"]:
        out()

    # Confirmation of every sat.
    out("### Confirmation of each counterexample")
    out()
    rows = []
    flagged = 0
    for label, res in results:
        for m in VNN_METHODS:
            if res[m]["sat"]:
                row = confirmation_row(label, m, res[m])
                flagged += row[2] != "yes"
                rows.append(row)
    if rows:
        out(table(["pair", "method", "all confirmed", "confirmed by", "margin(s)", "note"],
                  rows, "llllrl"))
        out()
        out("%d sat result(s); %d without a full confirmation." % (len(rows), flagged))
    else:
        out("No sat results.")
    out()


# ---------------------------------------------------------------- main

SECTIONS = ["random", "mnist", "targeted", "reconstruction", "vnncomp"]


def header_lines(rep):
    """Commit(s) and backend(s) seen in the reports, for the page's preamble."""
    commits, backends = {}, set()
    try:
        names = sorted(os.listdir(rep.folder))
    except OSError:
        return
    for name in names:
        if not name.endswith(".json") or name.startswith("maximise_"):
            continue
        r = rep.load(name)
        if name.startswith(("targeted_", "vae_target_")) and get(r, "tool") is None:
            continue
        c = get(r, "tool", "commit")
        if c:
            kind = name.split("_")[0]
            commits.setdefault(c, {})
            commits[c][kind] = commits[c].get(kind, 0) + 1
        b = get(r, "backend")
        if isinstance(b, dict):
            backends.add("%s %s (%s, %s thread(s))" % (b.get("name"), b.get("version"),
                                                       b.get("device"), b.get("threads")))
    out("Reports in `%s`. `tool.commit` (report files per prefix): %s. Backend: %s."
        % (rep.folder,
           "; ".join("`%s` (%s)" % (c, ", ".join("%s %d" % kv for kv in sorted(commits[c].items())))
                     for c in sorted(commits)) or DASH,
           "; ".join(sorted(backends)) or DASH))
    out()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("folder", nargs="?", default="results", help="results folder (default: results)")
    ap.add_argument("--fixtures", default=DEFAULT_FIXTURES,
                    help="shared fixtures folder, for the VNN-COMP test instances (default: %(default)s)")
    ap.add_argument("--section", action="append", choices=SECTIONS,
                    help="print only this section (repeatable; default: all)")
    args = ap.parse_args(argv)
    if not os.path.isdir(args.folder):
        print("results-tables: no folder %s" % args.folder, file=sys.stderr)
        return 2
    rep = Reports(args.folder)
    wanted = args.section or SECTIONS
    out("# Results tables (generated by scripts/results-tables.py)")
    out()
    header_lines(rep)
    rep.missing.clear()
    if "random" in wanted:
        section_random(rep)
    if "mnist" in wanted:
        section_mnist(rep)
    if "targeted" in wanted:
        section_targeted(rep)
    if "reconstruction" in wanted:
        section_reconstruction(rep)
    if "vnncomp" in wanted:
        section_vnncomp(rep, args.fixtures)
    out("## Missing or unreadable reports")
    out()
    out("Missing: %d%s" % (len(rep.missing), _short_list(rep.missing)))
    out()
    out("Unreadable (e.g. still being written): %d%s" % (len(rep.unreadable), _short_list(rep.unreadable)))
    return 0


def _short_list(names, limit=12):
    if not names:
        return "."
    shown = ", ".join("`%s`" % n for n in names[:limit])
    more = " and %d more" % (len(names) - limit) if len(names) > limit else ""
    return " (%s%s)." % (shown, more)


if __name__ == "__main__":
    sys.exit(main())
