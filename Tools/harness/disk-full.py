#!/usr/bin/env python3
"""Disk full and read-only stores: writes must fail cleanly, roll back, and leave the store usable.

Disk full, two ways:
  * file-size limit: `prolo record-batch` (and `prolo sync import`) runs with RLIMIT_FSIZE just above the
    store's current files and SIGXFSZ ignored, so a write past the limit fails with EFBIG mid-batch;
  * a full file system: a small tmpfs (when `mount -t tmpfs` is allowed here) holding the store, filled up with
    a filler file, so SQLite gets ENOSPC.
Each time: exit 74 with a `prolo: error:` line, the store unchanged (vector and ids; an import keeps only whole
blocks), `PRAGMA integrity_check` ok, `prolo audit verify` clean, and once the space is back the next write works.

Read-only, several ways (we run as root, which chmod does not stop): an unprivileged user (setpriv, uid 65534)
on a store it may read but not write, with and without a key it can read, with and without the -wal/-shm files
present, and root on a tmpfs remounted read-only. Writes must fail with 74 or 77 and a clear message and change
nothing; reads (`log`, `vector`, `patients`, `audit verify`) must work or fail with a clear message. The table
printed at the end is the record of exactly what happened.

    python3 Tools/harness/disk-full.py --prolo .build-harness/debug/prolo
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
from pathlib import Path

sys.dont_write_bytecode = True  # no __pycache__ in the repository
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (AUTHOR, Clinic, Device, HarnessFailure, Prolo, Result, bundle_block_counts,  # noqa: E402
                    check_store, default_prolo, log, machine, pain_line, record_batch, temp_directory)

NOBODY = "65534"
# As root (as in CI here) the read-only cases run prolo as uid 65534 via setpriv, since root ignores file modes;
# otherwise they run as the current user on files and folders without write permission.
IS_ROOT = os.geteuid() == 0


def limited(limit: int):
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # ignored signals survive exec: EFBIG instead of a kill
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


def store_files(store: str) -> int:
    return max((os.path.getsize(p) for p in (store, store + "-wal") if os.path.exists(p)), default=0)


class DiskFullTest:
    def __init__(self, prolo: Prolo, directory: str, args, rng: random.Random):
        self.prolo = prolo
        self.directory = directory
        self.args = args
        self.rng = rng
        self.rows: list[tuple[str, str, str]] = []  # scenario, what happened, verdict
        self.problems: list[str] = []
        self.known_seen: set[str] = set()
        payload = Path(directory, "pain.json")
        payload.write_text(json.dumps({"instrument": "nrs", "score": 4,
                                       "reporter": {"role": "patient", "id": "p-0001"}}))
        self.payload = str(payload)

    def note(self, scenario: str, result: Result | None, verdict: str, ok: bool, detail: str = "",
             known: str | None = None, minor: bool = False) -> None:
        """One row of the record: what happened, and whether it is what should happen.

        A failed check is a PROBLEM (the script exits 1), a KNOWN BUG when its tag was passed with --known (the run
        still passes; the bug is printed), or a NOTE when `minor` (wording only; never fails the run)."""
        seen = detail
        if result is not None:
            error = next((l for l in result.stderr.splitlines() if l.startswith("prolo: error:")),
                         result.stderr.strip()[:200])
            seen = (f"exit {result.status}" + (f": {error}" if result.status else "")
                    + (f" ({detail})" if detail else ""))
        if ok:
            status = "ok"
        elif minor:
            status = "NOTE"
        elif known and known in self.args.known:
            status = f"KNOWN BUG [{known}]"
            self.known_seen.add(known)
        else:
            status = "PROBLEM" + (f" [{known}]" if known else "")
            self.problems.append(f"{scenario}: {seen}: expected {verdict}")
        self.rows.append((scenario, seen, f"{status}: {verdict}"))
        log(f"  {status:<8} {scenario}: {seen}")

    def snapshot(self, store: str, user: str | None = None) -> tuple[str, list[str]]:
        vector = self.prolo.run("vector", "--json", "--store", store, user=user).stdout
        ids = [e["id"] for e in json.loads(self.prolo.run("log", "--json", "--store", store, user=user).stdout)]
        return vector, ids

    def expect_clean_failure(self, scenario: str, result: Result, before, store: str, allowed=(74,),
                             allow_growth: set[int] | None = None, known: str | None = None) -> None:
        clear = result.status in allowed and "prolo: error:" in result.stderr
        self.note(scenario, result, f"exit {' or '.join(map(str, allowed))} with a `prolo: error:` line", clear,
                  known=known)
        if clear and os.path.basename(store) not in result.stderr:
            self.note(f"{scenario}: wording", None, "the message names the store and says the write failed", False,
                      "the message does not name the store", minor=True)
        after = self.snapshot(store)
        if allow_growth is None:
            unchanged = after == before
            self.note(f"{scenario}: rolled back", None, "store unchanged (vector and ids)", unchanged,
                      f"{len(before[1])} events before, {len(after[1])} after")
        else:
            grown = len(after[1]) - len(before[1])
            whole = grown in allow_growth
            self.note(f"{scenario}: whole blocks only", None,
                      f"events added at a block boundary {sorted(allow_growth)}", whole, f"{grown} events added")
        try:
            check_store(self.prolo, store, scenario)
            self.note(f"{scenario}: store checks", None, "integrity_check ok, audit verify clean, chains dense", True)
        except HarnessFailure as failure:
            self.note(f"{scenario}: store checks", None, str(failure), False)

    def expect_next_write(self, scenario: str, store: str) -> None:
        result = self.prolo.run("record", "pain", "--patient", "p-0001", "--file", self.payload, "--author", AUTHOR,
                                "--store", store, check=False)
        self.note(f"{scenario}: next record", result, "works once the space is back", result.status == 0)

    # -- disk full by RLIMIT_FSIZE ------------------------------------------------------------------------

    def batch_lines(self, count: int, tag: str) -> list[str]:
        note = "x" * 20
        return [pain_line(f"p-{k % 30:04d}", k % 11, f"{tag} {k} {self.rng.randbytes(300).hex()} {note}")
                for k in range(count)]

    def file_size_limit(self) -> None:
        log("disk full by RLIMIT_FSIZE (EFBIG)")
        os.makedirs(os.path.join(self.directory, "fsize"))
        clinic = Clinic(self.prolo, os.path.join(self.directory, "fsize"), "Disk Full Clinic")
        store = clinic.root.store
        record_batch(self.prolo, clinic.root, self.batch_lines(200, "warm-up"), clinic.directory)
        batch = os.path.join(clinic.directory, "big.jsonl")
        Path(batch).write_text("\n".join(self.batch_lines(self.args.batch, "big")) + "\n")
        for attempt in range(self.args.limits):
            before = self.snapshot(store)
            headroom = self.rng.randint(0, 400_000) if attempt else 0
            limit = store_files(store) + headroom
            result = self.prolo.run("record-batch", "--file", batch, "--author", AUTHOR, "--store", store, check=False,
                                    preexec_fn=limited(limit))
            scenario = f"record-batch of {self.args.batch} under a {limit}-byte file limit (+{headroom})"
            if result.status == 0:
                self.note(scenario, result, "the batch fit under the limit; no fault injected", True)
                continue
            self.expect_clean_failure(scenario, result, before, store)
            self.expect_next_write(scenario, store)
        # A bundle import under the limit keeps only whole blocks.
        laptop = clinic.join("laptop", token=False)
        record_batch(self.prolo, laptop, self.batch_lines(3000, "laptop"), clinic.directory)
        bundle = os.path.join(clinic.directory, "laptop.bundle")
        self.prolo.run("sync", "export", "--out", bundle, "--recipient", self.prolo.public_key(store, bundle=True),
                       "--store", laptop.store)
        counts = bundle_block_counts(bundle)
        boundaries = {sum(counts[:k]) for k in range(len(counts) + 1)}
        before = self.snapshot(store)
        limit = store_files(store) + 1_500_000
        result = self.prolo.run("sync", "import", bundle, "--store", store, check=False, preexec_fn=limited(limit))
        scenario = f"sync import of {sum(counts)} events in {len(counts)} blocks under a {limit}-byte file limit"
        if result.status == 0:
            self.note(scenario, result, "the bundle fit under the limit; no fault injected", True)
        else:
            self.expect_clean_failure(scenario, result, before, store, allow_growth=boundaries,
                                      known="import-io-exit-65")
            again = self.prolo.run("sync", "import", bundle, "--store", store, check=False)
            self.note(f"{scenario}: import again without the limit", again, "completes", again.status == 0)
            self.expect_next_write(scenario, store)

    # -- disk full on a small tmpfs -----------------------------------------------------------------------

    def mount_tmpfs(self, path: str, size: str) -> bool:
        os.makedirs(path, exist_ok=True)
        completed = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", path],
                                   capture_output=True, text=True)
        if completed.returncode != 0:
            self.note(f"mount -t tmpfs {path}", None, "tmpfs scenarios skipped", True,
                      f"cannot mount: {completed.stderr.strip()}")
            return False
        return True

    def tmpfs_full(self) -> None:
        log("disk full on a tmpfs (ENOSPC)")
        mount = os.path.join(self.directory, "tmpfs")
        if not self.mount_tmpfs(mount, "8m"):
            return
        try:
            store = os.path.join(mount, "clinic.sqlite")
            self.prolo.run("init", "--device-name", "room-1", "--store", store)
            Path(os.path.join(self.directory, "small.jsonl")).write_text(
                "\n".join(self.batch_lines(100, "small")) + "\n")
            self.prolo.run("record-batch", "--file", os.path.join(self.directory, "small.jsonl"), "--author", AUTHOR,
                           "--store", store)
            batch = os.path.join(self.directory, "tmpfs-big.jsonl")
            Path(batch).write_text("\n".join(self.batch_lines(self.args.batch, "big")) + "\n")
            filler = os.path.join(mount, "filler")
            for attempt in range(3):
                free = shutil.disk_usage(mount).free
                leave = [0, 64 * 1024, 512 * 1024][attempt]
                with open(filler, "wb") as handle:
                    try:
                        handle.write(b"\0" * max(0, free - leave))
                    except OSError:
                        pass
                before = self.snapshot(store)
                free_bytes = shutil.disk_usage(mount).free
                scenario = f"record-batch of {self.args.batch} on a full tmpfs ({free_bytes} bytes free)"
                result = self.prolo.run("record-batch", "--file", batch, "--author", AUTHOR, "--store", store,
                                        check=False)
                if result.status == 0:
                    self.note(scenario, result, "the batch fit; no fault injected", True)
                else:
                    self.expect_clean_failure(scenario, result, before, store)
                reads = self.prolo.run("log", "--store", store, check=False)
                self.note(f"{scenario}: prolo log while full", reads, "reads work while the disk is full",
                          reads.status == 0)
                os.unlink(filler)
                self.expect_next_write(scenario, store)
            # A full disk from the start: the store cannot even open a WAL.
            check_store(self.prolo, store, "tmpfs store after the full-disk runs")
        finally:
            subprocess.run(["umount", mount], capture_output=True)

    # -- read-only ----------------------------------------------------------------------------------------

    @staticmethod
    def fingerprint(store: str) -> dict[str, str]:
        """The bytes of the store and its -wal (hashes): a refused write must leave them as they were."""
        found = {}
        for suffix in ("", "-wal"):
            if os.path.exists(store + suffix):
                found[suffix or "db"] = hashlib.sha256(Path(store + suffix).read_bytes()).hexdigest()[:16]
        return found

    def read_only_case(self, case: str, user: str | None, store: str, known: str | None = None) -> None:
        before = self.fingerprint(store)
        write = self.prolo.run("record", "pain", "--patient", "p-0001", "--file", self.payload, "--author", AUTHOR,
                               "--store", store, check=False, user=user)
        clear = write.status in (74, 77) and "prolo: error:" in write.stderr
        self.note(f"{case}: prolo record", write, "exit 74 or 77 with a `prolo: error:` line", clear, known=known)
        self.note(f"{case}: store unchanged", None, "no byte of the store or its -wal changed",
                  self.fingerprint(store) == before)
        for read in (["log"], ["vector"], ["patients"], ["audit", "verify"]):
            result = self.prolo.run(*read, "--store", store, check=False, user=user)
            if result.status == 0:
                self.note(f"{case}: prolo {' '.join(read)}", result, "works, or fails clearly", True)
                continue
            clear = (result.status in (74, 77) and "prolo: error:" in result.stderr
                     and "not a Prolo store" not in result.stderr)
            self.note(f"{case}: prolo {' '.join(read)}", result,
                      "works, or fails with 74/77 saying the store cannot be opened read-only", clear, known=known)

    def read_only(self) -> None:
        log("read-only stores")
        base = os.path.join(self.directory, "readonly")
        os.makedirs(base)
        os.chmod(self.directory, 0o755)
        os.chmod(base, 0o755)

        reader = NOBODY if IS_ROOT else None
        file_mode, folder_mode = (0o644, 0o755) if IS_ROOT else (0o444, 0o555)

        def make(name: str, key_owner: int | None, key_mode: int = 0o600, keep_wal: bool = True,
                 folder_mode: int = folder_mode) -> str:
            folder = os.path.join(base, name)
            os.makedirs(folder)
            store = os.path.join(folder, "clinic.sqlite")
            self.prolo.run("init", "--device-name", "room-1", "--store", store)
            record_batch(self.prolo, Device("room-1", store, "root"), self.batch_lines(20, name), folder)
            if not keep_wal:  # as after a clean close: everything checkpointed into the main file, no -wal, no -shm
                subprocess.run(["sqlite3", store, "PRAGMA wal_checkpoint(TRUNCATE)"], check=True, capture_output=True)
            for path in (store, store + "-wal", store + "-shm"):
                if os.path.exists(path):
                    os.chmod(path, file_mode)
            if key_owner is not None and IS_ROOT:
                os.chown(store + ".key", key_owner, key_owner)
            os.chmod(store + ".key", key_mode)
            for leftover in Path(folder).glob("*.jsonl"):
                leftover.unlink()
            os.chmod(folder, folder_mode)
            return store

        if IS_ROOT:
            # An unprivileged user on stores it may read but not write (files 0644 root's, folder 0755 root's).
            self.read_only_case("uid 65534, store 0644 with -wal/-shm 0644, key root's 0600", reader,
                                make("wal", None))
            self.read_only_case("uid 65534, store 0644 checkpointed (no -wal/-shm), key root's 0600", reader,
                                make("checkpointed", None, keep_wal=False), known="readonly-not-a-store")
            self.read_only_case("uid 65534 with its own key (0600), store 0644 with -wal/-shm 0644", reader,
                                make("own-key", 65534))
            self.read_only_case("uid 65534, key 0644 (refused as too open by design)", reader,
                                make("open-key", None, key_mode=0o644))
        else:
            self.read_only_case("store 0444 with -wal/-shm 0444 in a 0555 folder", None, make("wal", None))
            self.read_only_case("store 0444 checkpointed (no -wal/-shm) in a 0555 folder", None,
                                make("checkpointed", None, keep_wal=False), known="readonly-not-a-store")
        # Root on a read-only file system (chmod does not stop root; EROFS does).
        for name, keep_wal in (("ro-fs-wal", True), ("ro-fs-checkpointed", False)):
            mount = os.path.join(self.directory, name)
            if not self.mount_tmpfs(mount, "16m"):
                break
            try:
                store = make(name, None, keep_wal=keep_wal, folder_mode=0o755)
                for suffix in ("", "-wal", "-shm", ".key"):
                    if os.path.exists(store + suffix):
                        shutil.copy2(store + suffix, os.path.join(mount, "clinic.sqlite" + suffix))
                remount = subprocess.run(["mount", "-o", "remount,ro", mount], capture_output=True, text=True)
                if remount.returncode != 0:
                    self.note("mount -o remount,ro", None, "skipped", True, remount.stderr.strip())
                    continue
                files = "with -wal/-shm" if keep_wal else "checkpointed (no -wal/-shm)"
                self.read_only_case(f"root, store {files} on a read-only file system", None,
                                    os.path.join(mount, "clinic.sqlite"), known="readonly-not-a-store")
            finally:
                subprocess.run(["umount", mount], capture_output=True)

    def run(self) -> None:
        if not self.args.skip_fsize:
            self.file_size_limit()
        if not self.args.skip_tmpfs:
            self.tmpfs_full()
        if not self.args.skip_readonly:
            self.read_only()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--prolo", default=default_prolo(), help="the prolo binary")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--batch", type=int, default=2000, help="events in the batch that fills the disk (2000)")
    parser.add_argument("--limits", type=int, default=5, help="record-batch runs under random file-size limits (5)")
    parser.add_argument("--skip-fsize", action="store_true")
    parser.add_argument("--skip-tmpfs", action="store_true")
    parser.add_argument("--skip-readonly", action="store_true")
    parser.add_argument("--known", default="", type=lambda text: set(filter(None, text.split(","))),
                        help="tolerate these known bugs (comma-separated tags: import-io-exit-65, "
                             "readonly-not-a-store); they are still printed")
    parser.add_argument("--json-out", help="write the table as JSON here")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    prolo = Prolo(args.prolo)
    log(f"disk-full: prolo {prolo.binary}, seed {seed}, {machine()}")
    directory, cleanup = temp_directory("prolo-disk-", args.keep)
    test = DiskFullTest(prolo, directory, args, random.Random(seed))
    ok = False
    try:
        test.run()
        ok = not test.problems
    except HarnessFailure as failure:
        log(f"\nFAILED (seed {seed}): {failure}")
        test.problems.append(str(failure))
    finally:
        print("\nscenario | what happened | verdict")
        for scenario, seen, verdict in test.rows:
            print(f"{scenario} | {seen} | {verdict}")
        for tag in sorted(args.known - test.known_seen):
            log(f"note: the known bug {tag} did not show up in this run; if it is fixed, drop --known {tag}")
        if args.json_out:
            Path(args.json_out).write_text(json.dumps({"seed": seed, "machine": machine(), "rows": test.rows,
                                                       "problems": test.problems}, indent=2) + "\n")
        for folder, _, _ in os.walk(directory):
            os.chmod(folder, 0o755)  # the read-only folders, so the temporary directory can be removed
        cleanup(ok)
    for problem in test.problems:
        log(f"PROBLEM: {problem}")
    if ok:
        seen = f" (known bugs seen: {', '.join(sorted(test.known_seen))})" if test.known_seen else ""
        log(f"disk-full: all checks held{seen}")
    else:
        log(f"disk-full: {len(test.problems)} PROBLEM(S)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
