#!/usr/bin/env python3
"""check-layers.py - the tree's layering rules, checked from the compiler's
dependency output (docs/architecture.md, "Layers").

1. Layers: proxy/lib (0) < conf, tls (1) < proxy (2). A file may include
   headers from its own folder and from lower layers only; conf/ and tls/ do
   not include each other. Checked on `cc -MM` of every product source, so a
   header reached through another header counts too.
2. No cycles between modules (a module is NAME.c with NAME.h): module A
   depends on B when A.c or A.h includes B.h. Edges come from the include
   directives, each resolved against the compiler's list for that file.
3. No product source file is over 900 lines.
Exit 1 with one line per violation.
"""
import os, re, subprocess, sys

CC = os.environ.get("CC", "cc")
CPPFLAGS = ["-D_GNU_SOURCE", "-I."] + os.environ.get("WOLF_CFLAGS", "").split()
MAX_LINES = 900

def layer(path):
    if path.startswith("proxy/lib/"): return ("lib", 0)
    if path.startswith("conf/"): return ("conf", 1)
    if path.startswith("tls/"): return ("tls", 1)
    if path.startswith("proxy/"): return ("proxy", 2)
    return (None, None)

def sources():
    out = subprocess.check_output(["git", "ls-files", "proxy", "tls", "conf"], text=True).split()
    return sorted(f for f in out if f.endswith((".c", ".h")))

def deps(src):
    """Project headers the compiler opens for src (transitively)."""
    lang = ["-x", "c"] if src.endswith(".h") else []    # a header on its own
    r = subprocess.run([CC] + CPPFLAGS + lang + ["-MM", "-MG", src], capture_output=True, text=True)
    if r.returncode != 0:
        sys.stdout.write(r.stderr)
        return None
    words = r.stdout.replace("\\\n", " ").split(":", 1)[1].split()
    return {os.path.normpath(w) for w in words if w.endswith(".h") and not w.startswith("/")}

bad = []
files = sources()
edges = {}
for f in files:
    name, rank = layer(f)
    n = sum(1 for _ in open(f))
    if n > MAX_LINES:
        bad.append(f"{f}: {n} lines (at most {MAX_LINES})")
    d = deps(f)
    if d is None:
        bad.append(f"{f}: does not preprocess"); continue
    for h in sorted(d):
        if h == f: continue
        hn, hr = layer(h)
        if hn is None: continue
        same = os.path.dirname(h) == os.path.dirname(f)
        if not same and (hr > rank or (hr == rank and hn != name)):
            bad.append(f"{f}: includes {h} ({hn}, not below {name})")
    mod = f.rsplit(".", 1)[0]
    for m in re.finditer(r'^\s*#\s*include\s+"([^"]+)"', open(f).read(), re.M):
        inc = m.group(1)
        cand = [os.path.normpath(os.path.join(os.path.dirname(f), inc)), os.path.normpath(inc)]
        tgt = next((c for c in cand if c in d), None)
        if tgt is None: continue
        tm = tgt.rsplit(".", 1)[0]
        if tm != mod:
            edges.setdefault(mod, set()).add(tm)

# cycles: iterative DFS with colours, report each back edge's cycle once
colour, stack, seen = {}, [], set()
def dfs(u):
    colour[u] = 1; stack.append(u)
    for v in sorted(edges.get(u, ())):
        if colour.get(v, 0) == 0: dfs(v)
        elif colour[v] == 1:
            cyc = stack[stack.index(v):] + [v]
            key = frozenset(cyc)
            if key not in seen:
                seen.add(key); bad.append("include cycle: " + " -> ".join(cyc))
    stack.pop(); colour[u] = 2
for u in sorted(edges):
    if colour.get(u, 0) == 0: dfs(u)

for b in bad: print(b)
print(f"check-layers: {len(files)} files, {sum(len(v) for v in edges.values())} module edges, "
      f"{len(bad)} violations")
sys.exit(1 if bad else 0)
