#!/usr/bin/python3
"""The code-shape rules of conventions.md that a machine can check (issue 17).

usage: code_shape.py ROOT [--clang-format PROGRAM]

Over every .c and .h file in ROOT/src and ROOT/include:
- the file is exactly what `clang-format` (the project's .clang-format) makes of it;
- no file has 600 lines or more;
- no function body is longer than 80 lines (from the line that opens the body at column 0
  to the line of its closing brace at column 0, both counted).

Prints each violation as FILE:LINE: what, and exits 1 if there is any; exits 0 with a summary
otherwise. Without the clang-format program it fails and says so: the test command installs
it (jobs/setup.sh), so a missing one is a broken set-up, not a reason to pass.
"""
import pathlib
import re
import shutil
import subprocess
import sys

FILE_LINES_MAX = 599
FUNCTION_LINES_MAX = 80
# A function definition starts at column 0 with a name and '(' and ends its head with '{'.
HEAD = re.compile(r"^[A-Za-z_][A-Za-z0-9_ \*]*\b([A-Za-z_][A-Za-z0-9_]*)\(")


def sources(root):
    for folder in ("src", "include"):
        yield from sorted((root / folder).rglob("*.[ch]"))


def format_problems(path, program):
    text = path.read_text(encoding="utf-8")
    done = subprocess.run([program, "--style=file", "--assume-filename=" + str(path)],
                          input=text, capture_output=True, text=True, cwd=path.parent)
    if done.returncode != 0:
        return [f"{path}:1: clang-format failed: {done.stderr.strip()}"]
    if done.stdout == text:
        return []
    old, new = text.splitlines(), done.stdout.splitlines()
    first = next((i for i, (a, b) in enumerate(zip(old, new)) if a != b), min(len(old), len(new)))
    return [f"{path}:{first + 1}: not formatted as .clang-format says "
            f"(run: clang-format -i {path})"]


def function_problems(path):
    lines = path.read_text(encoding="utf-8").splitlines()
    problems, name, start = [], None, None
    for number, line in enumerate(lines, 1):
        match = HEAD.match(line)
        if name is None and match and not line.startswith(("typedef", "struct", "enum")):
            name, start = match.group(1), number
        if name is not None and line.startswith("}"):
            length = number - start + 1
            if length > FUNCTION_LINES_MAX:
                problems.append(f"{path}:{start}: function {name} has {length} lines "
                                f"(at most {FUNCTION_LINES_MAX})")
            name = None
        elif name is not None and line.endswith(";") and number == start:
            name = None  # a prototype, not a definition
    if len(lines) > FILE_LINES_MAX:
        problems.append(f"{path}:1: {len(lines)} lines (files stay under {FILE_LINES_MAX + 1})")
    return problems


def main(argv):
    root = pathlib.Path(argv[1])
    program = argv[3] if len(argv) > 3 and argv[2] == "--clang-format" else "clang-format"
    if shutil.which(program) is None:
        print(f"code_shape: {program} not found (jobs/setup.sh installs clang-format)")
        return 1
    problems, files = [], 0
    for path in sources(root):
        files += 1
        problems += format_problems(path, program)
        problems += function_problems(path)
    for p in problems:
        print(p)
    print(f"code_shape: {files} files, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
