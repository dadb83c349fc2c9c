#!/usr/bin/env python3
"""Sync under network faults: `prolo sync` through fault-proxy.py in front of `prolo serve`.

A clinic server, a few laptops (clinic tokens) and two home devices (patient tokens). Each device, in its own
thread, records a few events now and then and runs `prolo sync --server http://127.0.0.1:PROXY --token …`; the
proxy drops, resets, truncates, delays and jitters connections at random (see fault-proxy.py). After --attempts
syncs in all, each device syncs directly with the server until every one prints "in sync". Then:

  * every laptop's vector equals the server's; each home device holds exactly its patient's events;
  * nothing is duplicated: ids unique, every origin's chain dense (1…n) on the server and laptops, and every
    store passes `PRAGMA integrity_check` and `prolo audit verify`;
  * nothing is lost: every id a `prolo record`/`record-batch` printed is on the server;
  * every failed attempt exited non-zero with a `prolo: error:` line on stderr (and none hung).

    python3 Tools/harness/network-faults.py --attempts 500 --prolo .build-harness/debug/prolo
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

sys.dont_write_bytecode = True  # no __pycache__ in the repository
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (AUTHOR, Clinic, Device, HarnessFailure, Prolo, Server, check_store,  # noqa: E402
                    default_prolo, integrity, log, machine, pain_line, stop_process, table,
                    temp_directory)

HOME_PATIENTS = ("p-home-1", "p-home-2")
SYNC_LINE = re.compile(r"^(in sync|\d+ new, \d+ already present, \d+ quarantined, \d+ sent(, .+)?)$")


class NetworkFaultTest:
    def __init__(self, prolo: Prolo, directory: str, args, rng: random.Random):
        self.prolo = prolo
        self.directory = directory
        self.args = args
        self.rng = rng
        self.stats = Counter()
        self.lock = threading.Lock()
        self.attempts_left = args.attempts
        self.failures: list[str] = []
        self.messages = Counter()

    # -- devices ----------------------------------------------------------------------------------------

    def record(self, device: Device, rng: random.Random) -> None:
        """A laptop records a small batch for random patients (the home patients among them); a home device one
        report of its own patient."""
        if device.role == "home":
            payload = os.path.join(self.directory, f"{device.name}-pain.json")
            Path(payload).write_text(json.dumps({"instrument": "nrs", "score": rng.randrange(11),
                                                 "reporter": {"role": "patient", "id": device.patient},
                                                 "note": f"from {device.name}"}))
            result = self.prolo.run("record", "pain", "--patient", device.patient, "--file", payload,
                                    "--role", "patient", "--author", device.patient,
                                    "--store", device.store)
            ids = [result.line]
        else:
            patients = [*HOME_PATIENTS, *(f"p-{n:04d}" for n in range(12))]
            lines = [pain_line(rng.choice(patients), rng.randrange(11), f"{device.name} {len(device.recorded) + k}")
                     for k in range(rng.randint(1, self.args.batch))]
            path = os.path.join(self.directory, f"{device.name}-batch.jsonl")
            Path(path).write_text("\n".join(lines) + "\n")
            result = self.prolo.run("record-batch", "--file", path, "--author", AUTHOR, "--store", device.store)
            ids = result.stdout.split()
            if len(ids) != len(lines):
                raise HarnessFailure(f"record-batch printed {len(ids)} ids for {len(lines)} lines")
        with self.lock:
            device.recorded.extend(ids)
            self.stats["events recorded"] += len(ids)

    def sync(self, device: Device, url: str, count_as: str) -> tuple[int, str, str]:
        started = time.monotonic()
        try:
            completed = subprocess.run(self.prolo.command(["sync", "--server", url, "--token", device.token,
                                                           "--store", device.store]),
                                       capture_output=True, text=True, timeout=self.args.sync_timeout,
                                       env=self.prolo.env)
        except subprocess.TimeoutExpired:
            raise HarnessFailure(f"prolo sync of {device.name} through {url} hung for {self.args.sync_timeout} s")
        seconds = time.monotonic() - started
        status, stdout, stderr = completed.returncode, completed.stdout, completed.stderr
        with self.lock:
            self.stats[f"{count_as} attempts"] += 1
            self.stats["retries logged"] += stderr.count("retrying")
            self.stats["longest sync (s)"] = max(self.stats["longest sync (s)"], round(seconds, 1))
            if status == 0:
                if not SYNC_LINE.match(stdout.strip()):
                    self.failures.append(f"{device.name}: sync exited 0 but printed {stdout!r}")
                self.stats[f"{count_as} succeeded"] += 1
            else:
                self.stats[f"{count_as} failed"] += 1
                self.stats[f"{count_as} failed, exit {status}"] += 1
                errors = [line for line in stderr.splitlines() if line.startswith("prolo: error:")]
                if not errors:
                    self.failures.append(f"{device.name}: sync exited {status} without a `prolo: error:` line; "
                                         f"stderr: {stderr[-800:]!r}")
                else:
                    message = re.sub(r"\d+", "N", errors[-1])
                    message = re.sub(r"http://127\.0\.0\.1:N", "URL", message)
                    self.messages[message[:200]] += 1
        return status, stdout, stderr

    def worker(self, device: Device, url: str, seed: int) -> None:
        rng = random.Random(seed)
        try:
            while True:
                with self.lock:
                    if self.attempts_left <= 0 or self.failures:
                        return
                    self.attempts_left -= 1
                if rng.random() < self.args.record_chance:
                    self.record(device, rng)
                self.sync(device, url, "proxied")
        except HarnessFailure as failure:
            with self.lock:
                self.failures.append(str(failure))

    # -- the run ----------------------------------------------------------------------------------------

    def run(self) -> dict:
        args = self.args
        started = time.monotonic()
        clinic = Clinic(self.prolo, self.directory, "Network Fault Clinic")
        laptops = [clinic.join(f"laptop-{n}") for n in range(args.laptops)]
        homes = [clinic.join(f"home-{n + 1}", role="home", patient=HOME_PATIENTS[n]) for n in range(args.homes)]
        devices = laptops + homes
        for device in devices:
            self.record(device, self.rng)
        server = Server(self.prolo, clinic.root.store, os.path.join(self.directory, "serve.log"))
        server.start()
        port_file = os.path.join(self.directory, "proxy.port")
        stats_file = os.path.join(self.directory, "proxy-stats.json")
        weights_file = os.path.join(self.directory, "proxy-weights")
        Path(weights_file).write_text(args.weights)
        proxy_log = open(os.path.join(self.directory, "proxy.log"), "wb")
        proxy_script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fault-proxy.py")
        proxy = subprocess.Popen([sys.executable, proxy_script,
                                  "--upstream", f"127.0.0.1:{server.port}", "--port-file", port_file,
                                  "--stats-file", stats_file, "--seed", str(self.rng.randrange(1 << 30)),
                                  "--weights", args.weights, "--weights-file", weights_file],
                                 stdout=proxy_log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 30
            while not os.path.exists(port_file):
                if proxy.poll() is not None or time.monotonic() > deadline:
                    raise HarnessFailure("fault-proxy.py did not start; see proxy.log")
                time.sleep(0.05)
            proxy_url = f"http://127.0.0.1:{Path(port_file).read_text().strip()}"
            log(f"network faults: {len(laptops)} laptops, {len(homes)} home devices, {args.attempts} syncs through "
                f"the proxy ({proxy_url} → {server.url}), weights {args.weights}")
            threads = [threading.Thread(target=self.worker, args=(d, proxy_url, self.rng.randrange(1 << 30)))
                       for d in devices]
            for thread in threads:
                thread.start()
            calm, storm = (float(x) for x in args.storm.split(","))
            phase_end, stormy, last_report = time.monotonic() + calm, False, time.monotonic()
            while any(t.is_alive() for t in threads):
                time.sleep(0.25)
                if storm > 0 and time.monotonic() >= phase_end:
                    stormy = not stormy
                    self.stats["storms"] += stormy
                    temporary = weights_file + ".tmp"
                    Path(temporary).write_text(args.storm_weights if stormy else args.weights)
                    os.replace(temporary, weights_file)
                    phase_end = time.monotonic() + (storm if stormy else calm)
                if time.monotonic() - last_report >= 10:
                    last_report = time.monotonic()
                    with self.lock:
                        done = args.attempts - max(self.attempts_left, 0)
                    log(f"  {done}/{args.attempts} attempts, {self.stats['proxied failed']} failed, "
                        f"{time.monotonic() - started:.0f} s")
            for thread in threads:
                thread.join()
            if self.failures:
                raise HarnessFailure("; ".join(self.failures[:5]))
            stop_process(proxy)
            faults = json.loads(Path(stats_file).read_text())
            # Final: each device directly with the server until one round finds every device in sync.
            for round_number in range(1, 11):
                results = [self.sync(device, server.url, "direct") for device in devices]
                if self.failures:
                    raise HarnessFailure("; ".join(self.failures[:5]))
                failed = [d.name for d, r in zip(devices, results) if r[0] != 0]
                if failed:
                    raise HarnessFailure(f"direct sync failed for {failed}: {[r[2][-300:] for r in results if r[0]]}")
                in_sync = sum(r[1].strip() == "in sync" for r in results)
                log(f"  direct round {round_number}: {in_sync}/{len(devices)} in sync")
                if in_sync == len(devices):
                    break
            else:
                raise HarnessFailure("the devices did not converge in 10 direct rounds")
            self.stats["direct rounds"] = round_number
        finally:
            stop_process(proxy)
            server.stop()
            proxy_log.close()
        self.verify(clinic, laptops, homes)
        self.stats["seconds"] = round(time.monotonic() - started)
        return faults

    def verify(self, clinic: Clinic, laptops: list[Device], homes: list[Device]) -> None:
        server_events = check_store(self.prolo, clinic.root.store, "the server")
        server_vector = self.prolo.vector(clinic.root.store)
        on_server = {e["id"] for e in server_events}
        for device in laptops + homes:
            lost = [i for i in device.recorded if i not in on_server]
            if lost:
                self.stats["lost"] += len(lost)
                raise HarnessFailure(f"{len(lost)} events {device.name} recorded are not on the server, e.g. {lost[0]}")
        for laptop in laptops:
            check_store(self.prolo, laptop.store, laptop.name)
            vector = self.prolo.vector(laptop.store)
            if vector != server_vector:
                raise HarnessFailure(f"{laptop.name}'s vector {vector} differs from the server's {server_vector}")
        for home in homes:
            if integrity(home.store) != "ok":
                raise HarnessFailure(f"{home.name}: integrity_check failed")
            audit = self.prolo.audit(home.store)
            if audit.status != 0:
                raise HarnessFailure(f"{home.name}: audit verify failed\n{audit.describe()}")
            events = self.prolo.events(home.store)
            ids = [e["id"] for e in events]
            if len(ids) != len(set(ids)):
                raise HarnessFailure(f"{home.name} holds duplicate ids")
            clinical = {e["id"] for e in events if e["patient"] is not None}
            administrative = [e for e in events if e["patient"] is None]
            expected = {e["id"] for e in server_events if e["patient"] == home.patient}
            foreign = [e for e in events if e["patient"] not in (None, home.patient)]
            if foreign:
                raise HarnessFailure(f"{home.name} holds {len(foreign)} events of other patients")
            if clinical != expected:
                raise HarnessFailure(f"{home.name} holds {len(clinical)} of its patient's events, the server "
                                     f"{len(expected)} (missing {len(expected - clinical)}, "
                                     f"extra {len(clinical - expected)})")
            self.stats[f"{home.name}: patient events"] = len(clinical)
            self.stats[f"{home.name}: administrative events"] = len(administrative)
        self.stats["devices converged"] = len(laptops) + len(homes)
        self.stats["events on the server"] = len(server_events)
        self.stats["duplicates"] = 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--attempts", type=int, default=500, help="syncs through the proxy, in all (500)")
    parser.add_argument("--prolo", default=default_prolo(), help="the prolo binary")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--laptops", type=int, default=3)
    parser.add_argument("--homes", type=int, default=2, choices=(0, 1, 2))
    parser.add_argument("--batch", type=int, default=20, help="a laptop records 1…N events before a sync (20)")
    parser.add_argument("--record-chance", type=float, default=0.5, help="chance a device records before a sync")
    parser.add_argument("--weights", help="fault weights (fault-proxy.py)",
                        default="pass=35,drop=10,reset=5,truncate-request=10,truncate-response=15,delay=10,jitter=5,"
                                "lose-push-ack=10")
    parser.add_argument("--storm-weights", default="pass=5,drop=25,reset=20,truncate-request=15,truncate-response=20,"
                                                   "lose-push-ack=15", help="fault weights during a storm")
    parser.add_argument("--storm", default="8,4", help="CALM,STORM seconds: alternate the weights (0 storm: never)")
    parser.add_argument("--sync-timeout", type=float, default=300, help="a sync taking longer than this is a hang")
    parser.add_argument("--json-out", help="write the figures as JSON here")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    prolo = Prolo(args.prolo)
    log(f"network-faults: prolo {prolo.binary}, seed {seed}, {machine()}")
    directory, cleanup = temp_directory("prolo-net-", args.keep)
    test = NetworkFaultTest(prolo, directory, args, random.Random(seed))
    figures = {"seed": seed, "machine": machine(), "date": time.strftime("%Y-%m-%d %H:%M:%S %Z")}
    ok = False
    faults = {}
    try:
        faults = test.run()
        ok = True
    except HarnessFailure as failure:
        log(f"\nFAILED (seed {seed}): {failure}")
        figures["failure"] = str(failure)
    finally:
        figures["sync"] = dict(test.stats)
        figures["faults"] = faults
        figures["error messages"] = dict(test.messages)
        print(table(sorted(test.stats.items()) + [("lost", test.stats["lost"])], "\nsync through the fault proxy"))
        if faults:
            print(table(sorted(faults.items()), "\nfaults injected (per connection)"))
        if test.messages:
            print(table([(str(n), m) for m, n in test.messages.most_common()], "\nerror messages of failed attempts"))
        if args.json_out:
            Path(args.json_out).write_text(json.dumps(figures, indent=2) + "\n")
        cleanup(ok)
    log("network-faults: " + ("all invariants held" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
