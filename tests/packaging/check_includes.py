#!/usr/bin/python3
"""Checks that every folder includes only the project folders docs/ARCHITECTURE.md allows it.

Every library's include root is the repository root, so the compiler lets any file include
any header; this check is what keeps the "may use" column of the table true for includes,
as the link lines keep it for linking. The table is the first markdown table under the
heading "## Folders": its first column names a folder in backticks (`desk/`), its column
titled "may use" lists the project folders that folder may include, in backticks (any other
words there are ignored). A folder may always include its own headers.

Checked: every `#include "x/..."` and `#include <x/...>` in C and C++ files (.h .hpp .c .cc
.cpp .cxx .inc) whose first path part x is a top-level folder of the repository. Files are
those git tracks or would track (not what .gitignore leaves out, such as the build-*/ trees)
or, outside a git work tree, every file under ROOT. A top-level folder with C or C++ files but no row is an error too.

Usage: check_includes.py [ROOT]   (default: the repository holding this script)
Exit 0: all includes allowed; 1: violations, each printed as
  FILE:LINE: #include "x/y.h": folder `a/` may not use `x/` (docs/ARCHITECTURE.md, ## Folders, row `a/` may use: ...)
2: the table cannot be read (no "## Folders" section, no table, no "may use" column).
Security: reads files only; runs `git ls-files` in ROOT.
"""
import fnmatch
import os
import re
import subprocess
import sys

SOURCE_SUFFIXES = (".h", ".hpp", ".c", ".cc", ".cpp", ".cxx", ".inc")
INCLUDE = re.compile(r'^\s*#\s*include\s*(["<])([^">]+)[">]')
TABLE_DOC = "docs/ARCHITECTURE.md"
SECTION = "## Folders"


class TableError(Exception):
    pass


def cells(line):
    return [c.strip() for c in line.strip().strip("|").split("|")]


def read_table(root):
    """{folder: set of folders it may use}, folder names without the slash."""
    path = os.path.join(root, TABLE_DOC)
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError as e:
        raise TableError(f"{TABLE_DOC}: {e.strerror}")
    try:
        start = next(i for i, l in enumerate(lines) if l.strip() == SECTION)
    except StopIteration:
        raise TableError(f'{TABLE_DOC}: no section "{SECTION}" (the folder table this check reads)')
    rows = []
    for line in lines[start + 1:]:
        if line.startswith("## "):
            break
        if line.lstrip().startswith("|"):
            rows.append(cells(line))
        elif rows:
            break  # the first table ends at its first non-table line
    if len(rows) < 3:
        raise TableError(f'{TABLE_DOC}: no table with rows under "{SECTION}"')
    header = [h.lower() for h in rows[0]]
    if "may use" not in header:
        raise TableError(f'{TABLE_DOC}: the table under "{SECTION}" has no column "may use" (columns: {rows[0]})')
    use_col = header.index("may use")
    table = {}
    for row in rows[2:]:  # rows[1] is the |---| line
        folder = re.findall(r"`([^`/]+)/?`", row[0])
        if not folder:
            raise TableError(f"{TABLE_DOC}: a row of the folder table names no folder in backticks: {row[0]!r}")
        uses = row[use_col] if use_col < len(row) else ""
        table[folder[0]] = {u for u in re.findall(r"`([^`/]+)/?`", uses)}
    return table


def source_files(root):
    try:
        top = subprocess.run(["git", "-C", root, "rev-parse", "--show-toplevel"], capture_output=True, check=True)
        if os.path.realpath(top.stdout.decode().strip()) != os.path.realpath(root):
            raise OSError("ROOT is not the top of a git work tree")
        out = subprocess.run(["git", "-C", root, "ls-files", "-z", "--cached", "--others", "--exclude-standard"], capture_output=True, check=True).stdout
        names = [n for n in out.decode().split("\0") if n]
        if names:
            return sorted(n for n in names if n.endswith(SOURCE_SUFFIXES))
    except (OSError, subprocess.CalledProcessError):
        pass
    # No git here (a copy, or git refusing a tree another user owns): walk the tree, leaving
    # out what .gitignore's top-level folder patterns name (the build*/ trees).
    ignored = []
    try:
        with open(os.path.join(root, ".gitignore")) as f:
            ignored = [line.strip().strip("/") for line in f if line.strip().startswith("/") and line.strip().endswith("/")]
    except OSError:
        pass
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        top_level = os.path.realpath(dirpath) == os.path.realpath(root)
        dirnames[:] = [d for d in dirnames if not d.startswith(".") and d != "__pycache__"
                       and not (top_level and any(fnmatch.fnmatch(d, pat) for pat in ignored))]
        for n in filenames:
            if n.endswith(SOURCE_SUFFIXES):
                found.append(os.path.relpath(os.path.join(dirpath, n), root))
    return sorted(found)


def check(root):
    """Violation messages, in file order."""
    table = read_table(root)
    top = {d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)) and not d.startswith(".")}

    def row_text(folder):
        allowed = ", ".join(f"`{u}/`" for u in sorted(table[folder])) or "nothing"
        return f"({TABLE_DOC}, {SECTION}, row `{folder}/` may use: {allowed})"

    problems = []
    rowless = set()
    for rel in source_files(root):
        parts = rel.split("/")
        if len(parts) < 2:
            continue  # a file at the root belongs to no folder
        folder = parts[0]
        if folder not in table:
            if folder not in rowless:
                rowless.add(folder)
                problems.append(f"{rel}: folder `{folder}/` holds C/C++ files but has no row in the "
                                f"{TABLE_DOC} table under {SECTION}")
            continue
        try:
            with open(os.path.join(root, rel), encoding="utf-8", errors="replace") as f:
                text = f.read().splitlines()
        except OSError:
            continue  # listed by git but deleted in the work tree
        for number, line in enumerate(text, 1):
            m = INCLUDE.match(line)
            if not m or "/" not in m.group(2):
                continue
            target = m.group(2).split("/")[0]
            if target not in top or target == folder or target in table[folder]:
                continue
            closing = ">" if m.group(1) == "<" else '"'
            include = f"#include {m.group(1)}{m.group(2)}{closing}"
            if target not in table:
                problems.append(f"{rel}:{number}: {include}: `{target}/` has no row in the table {row_text(folder)}")
            else:
                problems.append(f"{rel}:{number}: {include}: folder `{folder}/` may not use `{target}/` {row_text(folder)}")
    return problems


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
    root = os.path.abspath(root)
    try:
        problems = check(root)
    except TableError as e:
        print(f"check_includes: {e}", file=sys.stderr)
        return 2
    for p in problems:
        print(p)
    if problems:
        print(f"check_includes: {len(problems)} include(s) outside the folder table; fix the include "
              f"or, if the dependency is meant, the table in {TABLE_DOC} (and the link line)")
        return 1
    print(f"check_includes: {len(source_files(root))} files, every include within its folder's row")
    return 0


if __name__ == "__main__":
    sys.exit(main())
