#!/usr/bin/env python3
"""deps-graph.py: the module include graph of src/ (`make deps-graph`, part of `make check`).

Reads every `#include "module/file.h"` in src/<module>/*.{c,h}, prints the module graph
(module -> module, with the number of including files), and fails when

  - an arrow is not allowed by DESIGN.md ("Modules" table; arrows point one way:
    cli -> jobs -> (delta, gold, docs) -> (parquet, pg, es) -> (store, http) -> core), or
  - the files include each other in a cycle, or
  - a folder under src/ is not a module DESIGN.md knows.

A known exception (an arrow being removed by work in flight) is printed on every run and
does not fail; once the arrow is gone the run says to delete the exception.
Options: --dot prints the module graph as Graphviz DOT instead.
"""
import os
import re
import sys

# DESIGN.md "Modules": what each module may include. cli and jobs sit on top ("jobs: all
# above"; cli drives commands of every module), so they may include any module below them.
LAYERS = [['core'], ['store', 'http'], ['parquet', 'pg', 'es', 'redis'], ['delta', 'gold', 'docs'],
          ['jobs'], ['cli']]
RANK = {m: i for i, layer in enumerate(LAYERS) for m in layer}
ALLOWED = {
    'core': set(),
    'http': {'core'},
    'store': {'core', 'http'},
    'parquet': {'core', 'store'},
    'pg': {'core'},
    'es': {'core', 'http'},
    'redis': {'core'},
    'delta': {'core', 'store', 'parquet'},
    'gold': {'core'},
    'docs': {'core', 'pg'},
}
for top in ('jobs', 'cli'):
    ALLOWED[top] = {m for m in RANK if RANK[m] < RANK[top]}

# (from, to): why it is tolerated for now. Printed on every run.
KNOWN_EXCEPTIONS = {}

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def scan(src):
    """Returns {file: [included file, ...]} with paths relative to src/."""
    graph = {}
    for mod in sorted(os.listdir(src)):
        d = os.path.join(src, mod)
        if not os.path.isdir(d):
            continue
        for name in sorted(os.listdir(d)):
            if not name.endswith(('.c', '.h')):
                continue
            rel = mod + '/' + name
            with open(os.path.join(d, name), encoding='utf-8', errors='replace') as f:
                text = f.read()
            deps = []
            for inc in INCLUDE.findall(text):
                target = inc if '/' in inc else mod + '/' + inc
                deps.append(target)
            graph[rel] = deps
    return graph


def file_cycles(graph):
    """Strongly connected components with more than one file (or a file including itself)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def strong(v):
        # iterative Tarjan: the include graph is small, but recursion limits are not a
        # property a checker should depend on
        work = [(v, iter(graph.get(v, [])))]
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        while work:
            node, it = work[-1]
            advanced = False
            for w in it:
                if w not in graph:
                    continue
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(graph.get(w, []))))
                    advanced = True
                    break
                if w in on:
                    low[node] = min(low[node], index[w])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == node:
                        break
                if len(comp) > 1 or node in graph.get(node, []):
                    out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            strong(v)
    return out


def main(argv):
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')
    src = os.path.join(root, 'src')
    graph = scan(src)
    modules = sorted({f.split('/')[0] for f in graph})
    edges = {}
    for f, deps in graph.items():
        a = f.split('/')[0]
        for t in deps:
            b = t.split('/')[0]
            if b != a and b in modules:
                edges.setdefault((a, b), set()).add(f)

    if '--dot' in argv:
        print('digraph dip_modules {')
        for (a, b), files in sorted(edges.items()):
            style = ' [style=dashed]' if (a, b) in KNOWN_EXCEPTIONS else ''
            print('  "%s" -> "%s"%s; /* %d files */' % (a, b, style, len(files)))
        print('}')
        return 0

    problems = []
    print('module include graph (src/, from #include "module/..."):')
    for a in sorted(modules, key=lambda m: (-RANK.get(m, 99), m)):
        outs = sorted(b for (x, b) in edges if x == a)
        print('  %-8s -> %s' % (a, ', '.join('%s (%d)' % (b, len(edges[(a, b)])) for b in outs)
                                 if outs else '(nothing)'))
    for m in modules:
        if m not in ALLOWED:
            problems.append('src/%s: not a module of DESIGN.md (add it to the table there and '
                            'to scripts/deps-graph.py)' % m)
    for (a, b), files in sorted(edges.items()):
        if a not in ALLOWED or b in ALLOWED.get(a, set()):
            continue
        if (a, b) in KNOWN_EXCEPTIONS:
            print('known exception: %s -> %s (%s): %s' %
                  (a, b, ', '.join(sorted(files)), KNOWN_EXCEPTIONS[(a, b)]))
            continue
        allowed = ', '.join(sorted(ALLOWED[a]))
        problems.append('%s -> %s is against DESIGN.md (%s: %s): %s' %
                        (a, b, a, 'may include ' + allowed if allowed else 'includes no other module',
                         ', '.join(sorted(files))))
    for (a, b) in sorted(KNOWN_EXCEPTIONS):
        if (a, b) not in edges:
            print('note: the known exception %s -> %s is gone: delete it from '
                  'scripts/deps-graph.py' % (a, b))
    for comp in file_cycles(graph):
        problems.append('include cycle between files: %s' % ' <-> '.join(comp))
    for p in problems:
        print('FAIL ' + p)
    print('deps-graph: %d modules, %d arrows, %d files, %d problems' %
          (len(modules), len(edges), len(graph), len(problems)))
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
