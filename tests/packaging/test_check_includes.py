#!/usr/bin/python3
"""Self-test of check_includes.py: run on small trees made in a temporary directory, it
passes a tree whose includes match the table and fails, naming file, line, include and
row, on each kind of bad include, and refuses a table it cannot read.
Security: none; writes only below its own temporary directory.
"""
import os
import subprocess
import sys
import tempfile
import textwrap
import unittest

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "check_includes.py")

TABLE = """\
# Architecture

Prose the check does not read: | `core/` | `store/` |

## Folders

| folder | owns | may use | outside |
| --- | --- | --- | --- |
| `core/` | helpers | nothing | fmt |
| `store/` | SQL | `core/` and, later, nothing else | SQLite3 |
| `desk/` | rules | `core/`, `store/` | `parser/` is not a folder here |

## Next section

| `core/` | a later table is not the folder table | `desk/` |
"""


class CheckIncludes(unittest.TestCase):
    def tree(self, files, table=TABLE):
        root = tempfile.mkdtemp(prefix="check_includes.")
        self.addCleanup(subprocess.run, ["rm", "-rf", root])
        files = dict(files)
        if table is not None:
            files["docs/ARCHITECTURE.md"] = table
        for rel, text in files.items():
            path = os.path.join(root, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w", encoding="utf-8") as f:
                f.write(textwrap.dedent(text))
        return root

    def run_check(self, root):
        r = subprocess.run([sys.executable, SCRIPT, root], capture_output=True, text=True)
        return r.returncode, r.stdout + r.stderr

    def good_files(self):
        return {
            "core/text.h": '#pragma once\n#include <string>\n',
            "store/store.h": '#include "store/detail.h"\n#include "core/text.h"\n',
            "store/detail.h": '',
            "desk/ingest.cpp": '#include "desk/ingest.h"\n#include "store/store.h"\n#include <core/text.h>\n'
                               '#include "date/date.h"  // not a folder of the tree: not ours\n#include "local.h"\n',
            "README.md": '#include "desk/ingest.h" in prose is not a source file\n',
        }

    def test_a_tree_whose_includes_match_the_table_passes(self):
        code, out = self.run_check(self.tree(self.good_files()))
        self.assertEqual(code, 0, out)
        self.assertIn("every include within its folder's row", out)

    def test_a_lower_folder_including_a_higher_one_fails_naming_file_line_include_and_row(self):
        files = self.good_files()
        files["store/sqlite.cpp"] = '#include "store/store.h"\n// why\n#include "desk/ingest.h"\n'
        code, out = self.run_check(self.tree(files))
        self.assertEqual(code, 1, out)
        self.assertIn('store/sqlite.cpp:3: #include "desk/ingest.h": folder `store/` may not use `desk/`', out)
        self.assertIn("row `store/` may use: `core/`", out)
        self.assertIn("docs/ARCHITECTURE.md", out)

    def test_an_include_in_angle_brackets_is_checked_too(self):
        files = self.good_files()
        files["core/log.cpp"] = '#include <store/store.h>\n'
        code, out = self.run_check(self.tree(files))
        self.assertEqual(code, 1, out)
        self.assertIn("core/log.cpp:1: #include <store/store.h>: folder `core/` may not use `store/`", out)
        self.assertIn("row `core/` may use: nothing", out)

    def test_a_folder_named_in_another_column_than_may_use_is_not_allowed(self):
        files = self.good_files()
        files["desk/rules.cpp"] = '#include "parser/parse.h"\n'
        files["parser/parse.h"] = ''
        code, out = self.run_check(self.tree(files))
        self.assertEqual(code, 1, out)
        self.assertIn("desk/rules.cpp:1", out)
        self.assertIn("`parser/` has no row in the table", out)

    def test_a_folder_with_sources_but_no_row_fails(self):
        files = self.good_files()
        files["web/portal.cpp"] = '#include "core/text.h"\n'
        code, out = self.run_check(self.tree(files))
        self.assertEqual(code, 1, out)
        self.assertIn("web/portal.cpp: folder `web/` holds C/C++ files but has no row", out)

    def test_a_missing_section_or_column_is_an_error_of_its_own(self):
        code, out = self.run_check(self.tree(self.good_files(), table="# Architecture\n\nno table\n"))
        self.assertEqual(code, 2, out)
        self.assertIn('no section "## Folders"', out)
        code, out = self.run_check(self.tree(self.good_files(), table=TABLE.replace("may use", "may depend on")))
        self.assertEqual(code, 2, out)
        self.assertIn('no column "may use"', out)
        code, out = self.run_check(self.tree(self.good_files(), table=None))
        self.assertEqual(code, 2, out)


if __name__ == "__main__":
    unittest.main()
