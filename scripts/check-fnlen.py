#!/usr/bin/env python3
"""check-fnlen.py: no function in src/ runs over 130 lines (STYLE: a function longer than a
screenful is cut into named steps). Part of `make check` (`make fnlen`).

A function is a line that starts a declaration at column 0 and names itself before '(',
then a '{' at column 0 before any ';', through the next '}' at column 0 (the layout
clang-format gives every function here). Prints the longest functions and fails on any
over the limit."""
import re
import subprocess
import sys

LIMIT = 130
DECL = re.compile(r'^[A-Za-z_][^(;]*?\b(\w+)\s*\(')


def functions(path):
    lines = open(path, encoding='utf-8').read().split('\n')
    i = 0
    while i < len(lines):
        m = DECL.match(lines[i])
        if m and not lines[i].rstrip().endswith(';'):
            j = i
            while j < len(lines) and not lines[j].startswith('{') and ';' not in lines[j]:
                j += 1
            if j < len(lines) and lines[j].startswith('{'):
                k = j + 1
                while k < len(lines) and not lines[k].startswith('}'):
                    k += 1
                yield m.group(1), i + 1, k - i + 1
                i = k
        i += 1


def main():
    files = subprocess.check_output(['git', 'ls-files', 'src/*.c'], text=True).split()
    found = [(n, f, name, line) for f in files for name, line, n in functions(f)]
    if not found:
        print('check-fnlen: no function found in src/ (the scan is broken)', file=sys.stderr)
        return 1
    found.sort(reverse=True)
    over = [x for x in found if x[0] > LIMIT]
    for n, f, name, line in over:
        print(f'{f}:{line}: {name} is {n} lines (limit {LIMIT}): cut it into named steps',
              file=sys.stderr)
    n, f, name, _ = found[0]
    print(f'check-fnlen: {len(found)} functions, longest {name} ({f}) {n} lines, limit {LIMIT}')
    return 1 if over else 0


if __name__ == '__main__':
    sys.exit(main())
