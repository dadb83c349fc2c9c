#!/usr/bin/env python3
"""Crash safety of the Prolo store and the clinic server, under `kill -9`.

Part 1 (store): a clinic's root store; in a loop, `prolo record-batch` of 50 marked pain reports (or, every few
iterations, `prolo sync import` of an encrypted bundle another enrolled device exported) is started and killed
with SIGKILL after a random delay. After every kill:
  * `sqlite3 STORE "PRAGMA integrity_check"` prints ok, and `prolo audit verify` exits 0;
  * every id any killed or finished command printed is in `prolo log --json` (acknowledged => durable);
  * a batch is all there or not at all (50 or 0 events carrying its marker), and stays once there;
  * a bundle's origin is held up to a block boundary (each block is one transaction), never inside a block;
  * ids are unique, each origin's chain is 1…n with the vector saying n;
  * the next `prolo record` works.

Part 2 (server): `prolo serve` with D enrolled laptops (clinic tokens, a few hundred events each); D concurrent
`prolo sync` processes; the server is killed with SIGKILL mid-way and restarted on the same store and port; the
syncs are re-run until every device prints "in sync". Then every device's vector equals the server's, every
recorded id is on the server, nothing is duplicated, and every store verifies.

Exit 0 when every invariant held; 1 with the first broken one otherwise.

    python3 Tools/harness/crash-test.py --kills 200 --prolo .build-harness/debug/prolo
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

sys.dont_write_bytecode = True  # no __pycache__ in the repository
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (AUTHOR, Clinic, HarnessFailure, Prolo, Server, bundle_block_counts,  # noqa: E402
                    check_store, default_prolo, log, machine, pain_line, record_batch, stop_process, table,
                    temp_directory)

BATCH_LINES = 50
MARKER = "crash-test batch "


def random_note(rng: random.Random, size: int) -> str:
    # Incompressible text, so the bundles have several 1 MiB blocks.
    return base64.b64encode(rng.randbytes(size * 3 // 4)).decode()


class StoreCrashTest:
    def __init__(self, prolo: Prolo, directory: str, args, rng: random.Random):
        self.prolo = prolo
        self.directory = directory
        self.args = args
        self.rng = rng
        self.clinic = Clinic(prolo, directory, "Crash Clinic")
        self.store = self.clinic.root.store
        self.bundle_key = prolo.public_key(self.store, bundle=True)
        self.bundles: list[dict] = []  # origin, path, boundaries (events held after each whole block), ids
        self.stats = Counter()
        self.epochs = 0
        payload = Path(directory, "probe.json")
        payload.write_text(json.dumps({"instrument": "nrs", "score": 3,
                                       "reporter": {"role": "patient", "id": "p-probe"}}))
        self.probe_payload = str(payload)

    # -- setup: bundles from other devices, and a pristine copy of the store --------------------------------

    def setup(self) -> None:
        for n in range(self.args.bundle_devices):
            laptop = self.clinic.join(f"laptop-{n}", token=False)
            lines = [pain_line(f"p-l{n}-{k % 25:02d}", k % 11,
                               f"laptop {n} event {k} {random_note(self.rng, self.args.note_bytes)}")
                     for k in range(self.args.bundle_events)]
            ids = record_batch(self.prolo, laptop, lines, self.directory)
            out = os.path.join(self.directory, f"{laptop.name}.bundle")
            summary = json.loads(self.prolo.run("sync", "export", "--out", out, "--recipient", self.bundle_key,
                                                "--json", "--store", laptop.store).stdout)
            counts = bundle_block_counts(out)
            if sum(counts) != summary["events"] or len(counts) != summary["blocks"]:
                raise HarnessFailure(f"bundle {out}: blocks {counts} do not add up to the export summary {summary}")
            boundaries = [0]
            for count in counts:
                boundaries.append(boundaries[-1] + count)
            self.bundles.append({"origin": laptop.origin, "path": out, "boundaries": boundaries, "ids": ids})
            log(f"  {laptop.name}: bundle of {summary['events']} events in {len(counts)} blocks {counts} "
                f"({summary['bytes']} bytes, encrypted to the store)")
        self.stats["bundle blocks"] = sum(len(b["boundaries"]) - 1 for b in self.bundles)
        # A prolo process exits without closing the database, so recent events live in the -wal file: copy both.
        self.pristine = os.path.join(self.directory, "pristine.sqlite")
        for suffix in ("", "-wal"):
            if os.path.exists(self.store + suffix):
                shutil.copy(self.store + suffix, self.pristine + suffix)

    def new_epoch(self) -> None:
        """Back to the store as setup left it (so per-kill verification stays fast in a debug build)."""
        for suffix in ("-wal", "-shm"):
            if os.path.exists(self.store + suffix):
                os.unlink(self.store + suffix)
        for suffix in ("", "-wal"):
            if os.path.exists(self.pristine + suffix):
                shutil.copy(self.pristine + suffix, self.store + suffix)
        self.epochs += 1
        self.acknowledged: dict[str, str] = {}  # id -> what printed it
        self.batches_present: set[int] = set()
        self.kills_this_epoch = 0
        self.next_bundle = 0

    # -- one iteration ----------------------------------------------------------------------------------

    def batch_file(self, iteration: int) -> str:
        lines = []
        for k in range(BATCH_LINES):
            patient = f"p-{(iteration * 7 + k) % 40:04d}"
            lines.append(pain_line(patient, (iteration + k) % 11, f"{MARKER}{iteration} line {k}"))
        path = os.path.join(self.directory, "batch.jsonl")
        Path(path).write_text("\n".join(lines) + "\n")
        return path

    def run_once(self, iteration: int) -> None:
        importing = self.args.import_every > 0 and iteration % self.args.import_every == self.args.import_every - 1
        if importing:
            bundle = self.bundles[self.next_bundle % len(self.bundles)]
            argv = ["sync", "import", bundle["path"], "--store", self.store]
            kind = "import"
            delay = self.rng.uniform(0, self.args.import_max_delay_ms) / 1000
        else:
            argv = ["record-batch", "--file", self.batch_file(iteration), "--author", AUTHOR, "--store", self.store]
            kind = "batch"
            delay = self.rng.uniform(0, self.args.max_delay_ms) / 1000
        process = self.prolo.start(*argv)
        time.sleep(delay)
        killed = process.poll() is None
        if killed:
            process.send_signal(signal.SIGKILL)
        stdout, stderr = process.communicate()
        stdout, stderr = stdout.decode(errors="replace"), stderr.decode(errors="replace")
        status = process.returncode
        self.stats[f"{kind} runs"] += 1
        if killed:
            self.stats["kills"] += 1
            self.stats[f"kills during {kind}"] += 1
            self.kills_this_epoch += 1
        elif status != 0:
            raise HarnessFailure(f"iteration {iteration}: `prolo {' '.join(argv)}` exited {status} without being "
                                 f"killed\n  stdout: {stdout[-500:]!r}\n  stderr: {stderr[-1500:]!r}")
        if kind == "batch":
            ids = stdout.split()
            if ids and len(ids) != BATCH_LINES and not killed:
                raise HarnessFailure(f"iteration {iteration}: record-batch printed {len(ids)} ids")
            for event_id in ids:
                self.acknowledged[event_id] = f"record-batch of iteration {iteration}"
            self.stats["acknowledged events"] += len(ids)
            if killed and ids:
                self.stats["kills after the ids were printed"] += 1
        elif not killed:
            self.next_bundle += 1
            # Acknowledged: every event of the bundle must now be held.
            for event_id in bundle["ids"]:
                if event_id not in self.acknowledged:
                    self.acknowledged[event_id] = f"sync import of {bundle['path']}"
                    self.stats["acknowledged events"] += 1
        if killed:
            self.verify(iteration, kind)

    def verify(self, iteration: int, kind: str) -> None:
        where = f"after the kill in iteration {iteration} ({kind})"
        events = check_store(self.prolo, self.store, where)
        held = {e["id"] for e in events}
        lost = [i for i in self.acknowledged if i not in held]
        if lost:
            self.stats["lost"] += len(lost)
            raise HarnessFailure(f"{where}: {len(lost)} acknowledged events are missing, e.g. {lost[0]} "
                                 f"(printed by {self.acknowledged[lost[0]]})")
        per_batch = Counter()
        for event in events:
            note = event["payload"].get("note", "") if isinstance(event["payload"], dict) else ""
            if note.startswith(MARKER):
                per_batch[int(note[len(MARKER):].split()[0])] += 1
        half = {b: n for b, n in per_batch.items() if n != BATCH_LINES}
        if half:
            self.stats["half-applied"] += len(half)
            raise HarnessFailure(f"{where}: half-applied batches (batch: events held) {half}")
        vanished = self.batches_present - set(per_batch)
        if vanished:
            raise HarnessFailure(f"{where}: batches {sorted(vanished)} were in the store and are gone")
        if kind == "batch":
            self.stats["killed batches: committed" if iteration in per_batch else "killed batches: rolled back"] += 1
        self.batches_present |= set(per_batch)
        per_origin = Counter(e["origin"] for e in events)
        for bundle in self.bundles:
            held_count = per_origin.get(bundle["origin"], 0)
            if held_count not in bundle["boundaries"]:
                self.stats["half-applied"] += 1
                raise HarnessFailure(f"{where}: {held_count} events of {bundle['path']}'s origin are held, inside a "
                                     f"block (whole blocks end at {bundle['boundaries']})")
        if kind == "import":
            bundle = self.bundles[self.next_bundle % len(self.bundles)]
            blocks = bundle["boundaries"].index(per_origin.get(bundle["origin"], 0))
            self.stats[f"killed imports: {blocks}/{len(bundle['boundaries']) - 1} blocks held"] += 1
            if blocks == len(bundle["boundaries"]) - 1:
                self.next_bundle += 1
        probe = self.prolo.run("record", "pain", "--patient", "p-probe", "--file", self.probe_payload,
                               "--author", AUTHOR, "--store", self.store, check=False)
        if probe.status != 0:
            raise HarnessFailure(f"{where}: the next append failed\n{probe.describe()}")
        self.acknowledged[probe.line] = f"the probe record after iteration {iteration}"
        self.stats["probe records after a kill"] += 1
        self.stats["largest store (events)"] = max(self.stats["largest store (events)"], len(events))

    def run(self) -> None:
        log(f"store crash test: {self.args.kills} kills of record-batch ({BATCH_LINES} events; kill after "
            f"0–{self.args.max_delay_ms:g} ms) and, every {self.args.import_every}th run, sync import (kill after "
            f"0–{self.args.import_max_delay_ms:g} ms); the store is reset every {self.args.epoch} kills")
        started = time.monotonic()
        self.setup()
        self.new_epoch()
        iteration = 0
        while self.stats["kills"] < self.args.kills:
            if iteration >= self.args.kills * 20:
                raise HarnessFailure(f"only {self.stats['kills']} kills landed in {iteration} runs: the commands "
                                     "finish before the delay; raise --max-delay-ms")
            if self.kills_this_epoch >= self.args.epoch:
                check_store(self.prolo, self.store, f"at the end of epoch {self.epochs}")
                self.new_epoch()
            self.run_once(iteration)
            iteration += 1
            if iteration % 50 == 0:
                log(f"  {iteration} runs, {self.stats['kills']} kills, "
                    f"{self.stats['acknowledged events']} acknowledged, {time.monotonic() - started:.0f} s")
        check_store(self.prolo, self.store, "at the end")
        self.stats["epochs"] = self.epochs
        self.stats["runs"] = iteration
        self.stats["seconds"] = round(time.monotonic() - started)


class ServerCrashTest:
    def __init__(self, prolo: Prolo, directory: str, args, rng: random.Random):
        self.prolo = prolo
        self.directory = directory
        self.args = args
        self.rng = rng
        self.stats = Counter()

    def sync_all(self, devices, url: str, kill_after: float | None, server: Server) -> dict[str, tuple[int, str, str]]:
        processes = {d.name: self.prolo.start("sync", "--server", url, "--token", d.token, "--store", d.store)
                     for d in devices}
        self.stats["sync runs"] += len(processes)
        if kill_after is not None:
            # Kill after the random delay, or as soon as half the syncs are done, so the kill lands mid-way.
            deadline = time.monotonic() + kill_after
            while time.monotonic() < deadline and sum(p.poll() is None for p in processes.values()) > len(devices) / 2:
                time.sleep(0.01)
            running = sum(p.poll() is None for p in processes.values())
            self.last_kill = f"server killed {kill_after - max(0.0, deadline - time.monotonic()):.2f} s in with " \
                             f"{running} of {len(devices)} syncs running, "
            server.kill()
            self.stats["server kills"] += 1
            self.stats["syncs running at a server kill"] += running
            server.start()
        results = {}
        for name, process in processes.items():
            try:
                stdout, stderr = process.communicate(timeout=600)
            except subprocess.TimeoutExpired:
                for other in processes.values():
                    stop_process(other, grace=1)
                raise HarnessFailure(f"prolo sync of {name} hung for 10 minutes")
            results[name] = (process.returncode, stdout.decode(errors="replace"), stderr.decode(errors="replace"))
        for name, (status, stdout, stderr) in results.items():
            self.stats["retries logged"] += stderr.count("retrying")
            if status != 0:
                self.stats["sync runs failed"] += 1
                if "prolo: error:" not in stderr:
                    raise HarnessFailure(f"prolo sync of {name} exited {status} without a `prolo: error:` line:\n"
                                         f"{stderr[-1500:]}")
                self.stats[f"sync exit {status}"] += 1
        return results

    def run(self) -> None:
        args = self.args
        log(f"server crash test: {args.devices} laptops × {args.device_events} events, {args.devices} concurrent "
            f"syncs, {args.server_kills} server kill(s)")
        started = time.monotonic()
        clinic = Clinic(self.prolo, self.directory, "Server Crash Clinic")
        for n in range(args.devices):
            device = clinic.join(f"laptop-{n:02d}")
            lines = [pain_line(f"p-{(n * 13 + k) % 60:04d}", k % 11, f"laptop {n} event {k}")
                     for k in range(args.device_events)]
            record_batch(self.prolo, device, lines, self.directory)
        server = Server(self.prolo, clinic.root.store, os.path.join(self.directory, "serve.log"))
        server.start()
        devices = clinic.devices
        rounds = 0
        try:
            while True:
                rounds += 1
                if rounds > args.server_kills + 12:
                    raise HarnessFailure(f"the devices did not converge in {rounds - 1} rounds")
                kill_after = None
                if rounds <= args.server_kills:
                    kill_after = self.rng.uniform(0.05, args.kill_window)
                results = self.sync_all(devices, server.url, kill_after, server)
                in_sync = [name for name, (status, stdout, _) in results.items()
                           if status == 0 and stdout.strip() == "in sync"]
                log(f"  round {rounds}: {self.last_kill if kill_after else ''}"
                    f"{sum(r[0] != 0 for r in results.values())} failed, {len(in_sync)}/{len(devices)} in sync")
                if kill_after is None and len(in_sync) == len(devices):
                    break
        finally:
            server.stop()
        self.stats["rounds"] = rounds
        server_events = check_store(self.prolo, clinic.root.store, "the server store")
        server_vector = self.prolo.vector(clinic.root.store)
        held = {e["id"] for e in server_events}
        for device in devices:
            check_store(self.prolo, device.store, f"device {device.name}")
            vector = self.prolo.vector(device.store)
            if vector != server_vector:
                differing = {o: (vector.get(o), server_vector.get(o)) for o in set(vector) | set(server_vector)
                             if vector.get(o) != server_vector.get(o)}
                raise HarnessFailure(f"{device.name} did not converge: (device, server) per origin {differing}")
            lost = [i for i in device.recorded if i not in held]
            if lost:
                self.stats["lost"] += len(lost)
                raise HarnessFailure(f"{len(lost)} events {device.name} recorded are not on the server, e.g. {lost[0]}")
        expected = sum(len(d.recorded) for d in devices) + server_vector.get(clinic.root.origin, 0)
        if len(server_events) != expected:
            raise HarnessFailure(f"the server holds {len(server_events)} events, expected {expected}")
        self.stats["devices converged"] = len(devices)
        self.stats["events on the server"] = len(server_events)
        self.stats["server starts"] = server.starts
        self.stats["seconds"] = round(time.monotonic() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kills", type=int, default=200, help="SIGKILLs that must land on a running command (200)")
    parser.add_argument("--prolo", default=default_prolo(), help="the prolo binary")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--max-delay-ms", type=float, default=300, help="kill after 0…this many ms (300)")
    parser.add_argument("--import-max-delay-ms", type=float, default=1500, help="kill an import after 0…this many ms")
    parser.add_argument("--import-every", type=int, default=4, help="every Nth run is a sync import (4; 0: never)")
    parser.add_argument("--bundle-devices", type=int, default=2, help="laptops whose bundles are imported (2)")
    parser.add_argument("--bundle-events", type=int, default=1000, help="events per bundle (1000)")
    parser.add_argument("--note-bytes", type=int, default=3000, help="incompressible note per bundle event (3000)")
    parser.add_argument("--epoch", type=int, default=50, help="reset the store to its setup copy every N kills (50)")
    parser.add_argument("--devices", type=int, default=20, help="laptops syncing with the server (20)")
    parser.add_argument("--device-events", type=int, default=300, help="events each laptop records (300)")
    parser.add_argument("--server-kills", type=int, default=2, help="rounds in which the server is killed (2)")
    parser.add_argument("--kill-window", type=float, default=3.0, help="kill the server 0.05…this many s into a round "
                        "(3), or when half the syncs are done")
    parser.add_argument("--skip-store", action="store_true")
    parser.add_argument("--skip-server", action="store_true")
    parser.add_argument("--json-out", help="write the figures as JSON here")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    prolo = Prolo(args.prolo)
    log(f"crash-test: prolo {prolo.binary}, seed {seed}, {machine()}")
    directory, cleanup = temp_directory("prolo-crash-", args.keep)
    figures = {"seed": seed, "machine": machine(), "date": time.strftime("%Y-%m-%d %H:%M:%S %Z")}
    ok = False
    try:
        if not args.skip_store:
            os.makedirs(os.path.join(directory, "store"))
            store_test = StoreCrashTest(prolo, os.path.join(directory, "store"), args, rng)
            try:
                store_test.run()
            finally:
                figures["store"] = dict(store_test.stats)
                print(table([(k, v) for k, v in sorted(store_test.stats.items())] + [("lost", store_test.stats["lost"]),
                            ("half-applied", store_test.stats["half-applied"])], "\nstore under kill -9"))
        if not args.skip_server:
            os.makedirs(os.path.join(directory, "server"))
            server_test = ServerCrashTest(prolo, os.path.join(directory, "server"), args, rng)
            try:
                server_test.run()
            finally:
                figures["server"] = dict(server_test.stats)
                rows = sorted(server_test.stats.items()) + [("lost", server_test.stats["lost"])]
                print(table(rows, "\nserver under kill -9"))
        ok = True
    except HarnessFailure as failure:
        log(f"\nFAILED (seed {seed}): {failure}")
        figures["failure"] = str(failure)
    finally:
        if args.json_out:
            Path(args.json_out).write_text(json.dumps(figures, indent=2) + "\n")
        cleanup(ok)
    log("crash-test: " + ("all invariants held" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
