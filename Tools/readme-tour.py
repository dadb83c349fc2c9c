#!/usr/bin/env python3
"""Runs the README's tour exactly as printed, to prove every command in it works.

The shell blocks under "A short tour" and "A clinic of devices" run in one bash session with
`set -euo pipefail`, in a fresh temporary directory for the stores (the blocks make their own), from the
repository root, with the `prolo` binary of --prolo-dir first on the PATH. Two things differ from a reader's
run, and only these: the `swift build` line is skipped (the binary is given), and the server port 8787 is
replaced by a free one so the check can run beside other servers. Whatever the blocks leave running (the
`prolo serve &`) is stopped at the end.

    python3 Tools/readme-tour.py [--prolo-dir .build/debug]

Exit 0 when every command succeeded; otherwise 1, with the failing command and the output before it.
"""
import argparse
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SECTIONS = ("## A short tour", "## A clinic of devices")


def blocks(readme: str) -> list[str]:
    """The ```sh blocks of the tour's sections, in order."""
    found = []
    for title in SECTIONS:
        start = readme.index(title)
        end = readme.find("\n## ", start + len(title))
        section = readme[start:end if end >= 0 else len(readme)]
        found += re.findall(r"```sh\n(.*?)```", section, flags=re.S)
    return found


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--prolo-dir", default=os.path.join(ROOT, ".build", "debug"),
                        help="the folder holding the prolo binary (default .build/debug)")
    args = parser.parse_args()
    prolo_dir = os.path.abspath(args.prolo_dir)
    if not os.access(os.path.join(prolo_dir, "prolo"), os.X_OK):
        print(f"readme-tour: no prolo binary in {prolo_dir}; run `swift build` first", file=sys.stderr)
        return 1

    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as handle:
        tour = blocks(handle.read())
    if len(tour) < 2:
        print("readme-tour: the README's tour blocks were not found", file=sys.stderr)
        return 1
    port = str(free_port())
    lines = []
    for block in tour:
        for line in block.splitlines():
            if line.startswith("swift build"):
                continue
            lines.append(line.replace("8787", port))
    # PS4 is set in the script: bash does not take it from the environment when run as root.
    script = "PS4='+ [line $LINENO] '\n" + "\n".join(lines) + "\n"

    with tempfile.TemporaryDirectory(prefix="prolo-readme-") as scratch:
        path = os.path.join(scratch, "tour.sh")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(script)
        env = dict(os.environ, PATH=prolo_dir + os.pathsep + os.environ.get("PATH", ""), TMPDIR=scratch)
        env.pop("PROLO_STORE", None)
        process = subprocess.Popen(["bash", "-euo", "pipefail", "-x", path], cwd=ROOT, env=env,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                   start_new_session=True)
        try:
            output, _ = process.communicate(timeout=300)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            output, _ = process.communicate()
            print(output[-4000:])
            print("readme-tour: the tour did not finish within 300 s", file=sys.stderr)
            return 1
        finally:
            try:
                os.killpg(process.pid, signal.SIGTERM)  # a `prolo serve &` left behind by a failed step
            except ProcessLookupError:
                pass
    if process.returncode != 0:
        print(output[-4000:])
        failed = [line for line in output.splitlines() if line.startswith("+ [line ")]
        where = failed[-1] if failed else "(before the first command)"
        print(f"readme-tour: a README command failed (exit {process.returncode}): {where}", file=sys.stderr)
        return 1
    commands = sum(1 for line in output.splitlines() if line.startswith("+ [line "))
    print(output)
    print(f"readme-tour: all {commands} commands of the README tour worked")
    return 0


if __name__ == "__main__":
    sys.exit(main())
