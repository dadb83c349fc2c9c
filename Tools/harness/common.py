"""Shared helpers of the Prolo reliability harness (crash-test, disk-full, network-faults).

Only the Python standard library: the scripts drive the built `prolo` binary and the `sqlite3` shell, and
check every result through what an operator sees (exit codes, stdout, stderr, `prolo log --json`).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
# Who the harness records as (a root store's default author, its device name "<clinic> root", is no identifier).
AUTHOR = "clin-harness"


def reset_signal_mask() -> None:
    """Unblocks every signal and restores SIGTERM's default action.

    A parent such as the Swift test runner may start us with signals blocked or ignored; both are inherited
    through exec, and then `prolo serve` and the fault proxy would never see the SIGTERM that stops them."""
    signal.pthread_sigmask(signal.SIG_SETMASK, [])
    if signal.getsignal(signal.SIGTERM) == signal.SIG_IGN:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


reset_signal_mask()


def default_prolo() -> str:
    """The prolo binary: $PROLO_BIN, else the first of the usual build folders that has one."""
    if os.environ.get("PROLO_BIN"):
        return os.environ["PROLO_BIN"]
    for folder in (".build-harness/debug", ".build/debug", ".build/release"):
        candidate = REPO_ROOT / folder / "prolo"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return "prolo"


class HarnessFailure(Exception):
    """A broken invariant: the harness stops and says what it saw."""


def log(message: str) -> None:
    print(message, flush=True)


@dataclass
class Result:
    args: list[str]
    status: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def line(self) -> str:
        return self.stdout.strip()

    def describe(self) -> str:
        return (f"`prolo {' '.join(self.args)}` exited {self.status}\n  stdout: {self.stdout.strip()[:800]!r}\n"
                f"  stderr: {self.stderr.strip()[:800]!r}")


class Prolo:
    """Runs the prolo binary and captures what it prints."""

    def __init__(self, binary: str, env: dict[str, str] | None = None):
        self.binary = binary
        self.env = dict(os.environ)
        self.env.pop("PROLO_STORE", None)
        self.env.pop("PROLO_TOKEN", None)
        if env:
            self.env.update(env)
        self.calls = 0

    def command(self, args: list[str]) -> list[str]:
        return [self.binary, *args]

    def run(self, *args: str, stdin: str | None = None, timeout: float = 600, check: bool = True,
            expect: tuple[int, ...] = (0,), preexec_fn=None, user: str | None = None) -> Result:
        argv = list(args)
        start = time.monotonic()
        command = self.command(argv)
        if user is not None:
            command = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", *command]
        self.calls += 1
        completed = subprocess.run(
            command, input=stdin, capture_output=True, text=True, timeout=timeout, env=self.env,
            preexec_fn=preexec_fn)
        result = Result(argv, completed.returncode, completed.stdout, completed.stderr, time.monotonic() - start)
        if check and result.status not in expect:
            raise HarnessFailure(result.describe())
        return result

    def start(self, *args: str, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw) -> subprocess.Popen:
        self.calls += 1
        return subprocess.Popen(self.command(list(args)), stdout=stdout, stderr=stderr, env=self.env, **kw)

    # -- read views ---------------------------------------------------------------------------------------

    def events(self, store: str, *extra: str) -> list[dict]:
        result = self.run("log", "--json", "--store", store, *extra)
        return json.loads(result.stdout)

    def vector(self, store: str) -> dict[str, int]:
        return json.loads(self.run("vector", "--json", "--store", store).stdout)

    def audit(self, store: str) -> Result:
        return self.run("audit", "verify", "--store", store, check=False)

    def public_key(self, store: str, bundle: bool = False) -> str:
        return self.run("device", "key", *(["--bundle"] if bundle else []), "--store", store).line


def integrity(store: str) -> str:
    completed = subprocess.run(["sqlite3", store, "PRAGMA integrity_check"], capture_output=True, text=True,
                               timeout=120)
    return (completed.stdout + completed.stderr).strip()


def check_store(prolo: Prolo, store: str, what: str) -> list[dict]:
    """integrity_check ok, `prolo audit verify` exits 0, ids unique and the vector dense; returns the events."""
    check = integrity(store)
    if check != "ok":
        raise HarnessFailure(f"{what}: PRAGMA integrity_check on {store} printed {check!r}")
    audit = prolo.audit(store)
    if audit.status != 0:
        raise HarnessFailure(f"{what}: audit verify failed\n{audit.describe()}")
    events = prolo.events(store)
    duplicates = [i for i, n in Counter(e["id"] for e in events).items() if n > 1]
    if duplicates:
        raise HarnessFailure(f"{what}: {len(duplicates)} event ids appear twice in {store}, e.g. {duplicates[:3]}")
    per_origin = Counter(e["origin"] for e in events)
    vector = prolo.vector(store)
    for origin, count in per_origin.items():
        seqs = sorted(e["originSeq"] for e in events if e["origin"] == origin)
        if seqs != list(range(1, count + 1)):
            raise HarnessFailure(f"{what}: origin {origin} holds originSeq {seqs[:5]}… (not 1…{count}: "
                                 "a gap or a twin)")
        if vector.get(origin) != count:
            raise HarnessFailure(f"{what}: vector says {origin} → {vector.get(origin)}, log holds {count}")
    return events


# -- a clinic of devices ----------------------------------------------------------------------------------

@dataclass
class Device:
    name: str
    store: str
    role: str  # "root", "clinic" or "home"
    patient: str | None = None
    token: str | None = None
    public_key: str = ""
    origin: str = ""
    recorded: list[str] = field(default_factory=list)  # ids its `record`/`record-batch` printed


class Clinic:
    """A root store (the clinic server's) and devices joined to it, enrolled, with tokens."""

    def __init__(self, prolo: Prolo, directory: str, name: str = "Harness Clinic"):
        self.prolo = prolo
        self.directory = directory
        self.root = Device("root", os.path.join(directory, "server.sqlite"), "root")
        created = json.loads(prolo.run("init", "--clinic", name, "--json", "--store", self.root.store).stdout)
        self.root.public_key = created["publicKey"]
        self.root.origin = created["origin"]
        self.devices: list[Device] = []

    def join(self, name: str, role: str = "clinic", patient: str | None = None, token: bool = True) -> Device:
        device = Device(name, os.path.join(self.directory, f"{name}.sqlite"), role, patient)
        home = ["--patient", patient] if patient else []
        created = json.loads(self.prolo.run("init", "--device-name", name, "--trust", self.root.public_key, "--json",
                                            "--store", device.store, *home).stdout)
        device.public_key = created["publicKey"]
        device.origin = created["origin"]
        self.prolo.run("device", "enroll", "--name", name, "--role", role, *(["--patient", patient] if patient else []),
                       "--public-key", device.public_key, "--store", self.root.store)
        if token:
            scope = f"patient:{patient}" if role == "home" else "clinic"
            device.token = self.prolo.run("token", "issue", "--device", name, "--scope", scope,
                                          "--store", self.root.store).line
        self.devices.append(device)
        return device


def pain_line(patient: str, score: int, note: str, occurred_at: str | None = None) -> str:
    payload = {"instrument": "nrs", "score": score, "reporter": {"role": "patient", "id": patient}, "note": note}
    line = {"type": "pain.reported", "patient": patient, "payload": payload}
    if occurred_at:
        line["occurredAt"] = occurred_at
    return json.dumps(line, separators=(",", ":"))


def record_batch(prolo: Prolo, device: Device, lines: list[str], directory: str) -> list[str]:
    """Records the lines in one `prolo record-batch`; returns (and remembers) the printed ids."""
    path = os.path.join(directory, f"{device.name}-batch-{len(device.recorded)}.jsonl")
    Path(path).write_text("\n".join(lines) + "\n")
    result = prolo.run("record-batch", "--file", path, "--author", AUTHOR, "--store", device.store)
    ids = result.stdout.split()
    if len(ids) != len(lines):
        raise HarnessFailure(f"record-batch printed {len(ids)} ids for {len(lines)} lines\n{result.describe()}")
    device.recorded.extend(ids)
    os.unlink(path)
    return ids


# -- servers ----------------------------------------------------------------------------------------------

SERVING = re.compile(r"serving .* on https?://[^:]+:(\d+)")


class Server:
    """`prolo serve` on 127.0.0.1, its log in a file; restartable on the same port."""

    def __init__(self, prolo: Prolo, store: str, log_path: str, port: int = 0):
        self.prolo = prolo
        self.store = store
        self.log_path = log_path
        self.port = port
        self.process: subprocess.Popen | None = None
        self.starts = 0

    def start(self, timeout: float = 60) -> int:
        log_file = open(self.log_path, "ab")
        offset = log_file.tell()
        deadline = time.monotonic() + timeout
        while True:
            self.process = self.prolo.start("serve", "--store", self.store, "--port", str(self.port),
                                            stdout=log_file, stderr=log_file)
            self.starts += 1
            while time.monotonic() < deadline:
                text = Path(self.log_path).read_bytes()[offset:].decode(errors="replace")
                match = SERVING.search(text)
                if match:
                    self.port = int(match.group(1))
                    log_file.close()
                    return self.port
                if self.process.poll() is not None:
                    break
                time.sleep(0.05)
            if time.monotonic() >= deadline:
                self.kill()
                raise HarnessFailure(f"prolo serve did not start within {timeout}s; log: {self.log_path}")
            # Exited before serving: on a restart the port may still be held for a moment; retry until the deadline.
            text = Path(self.log_path).read_bytes()[offset:].decode(errors="replace")
            if "address" not in text.lower() and "bind" not in text.lower() and "in use" not in text.lower():
                raise HarnessFailure(f"prolo serve exited {self.process.returncode} before serving:\n{text[-2000:]}")
            offset = len(Path(self.log_path).read_bytes())
            time.sleep(0.2)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process:
            stop_process(self.process, grace=20)


def stop_process(process: subprocess.Popen, grace: float = 10) -> None:
    """SIGTERM, then SIGKILL if it has not exited after `grace` seconds."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# -- bundles ----------------------------------------------------------------------------------------------

def bundle_block_counts(path: str) -> list[int]:
    """The record count of each block of a bundle (Schemas/bundle.md: block headers are in the clear)."""
    data = Path(path).read_bytes()
    if data[:8] != b"PROLOBDL":
        raise HarnessFailure(f"{path} is not a bundle")
    stored_header = int.from_bytes(data[58:62], "big")
    offset = 62 + stored_header + 32
    counts = []
    while offset < len(data) and data[offset] == 0x42:
        count = int.from_bytes(data[offset + 5:offset + 9], "big")
        stored = int.from_bytes(data[offset + 13:offset + 17], "big")
        counts.append(count)
        offset += 49 + stored
    return counts


# -- misc -------------------------------------------------------------------------------------------------

def temp_directory(prefix: str, keep: bool) -> tuple[str, callable]:
    directory = tempfile.mkdtemp(prefix=prefix)

    def cleanup(ok: bool) -> None:
        if keep or not ok:
            log(f"(kept {directory})")
        else:
            shutil.rmtree(directory, ignore_errors=True)

    return directory, cleanup


def table(rows: list[tuple[str, object]], title: str) -> str:
    width = max(len(k) for k, _ in rows)
    lines = [title, "-" * (width + 2 + max(len(str(v)) for _, v in rows))]
    lines += [f"{k.ljust(width)}  {v}" for k, v in rows]
    return "\n".join(lines)


def machine() -> str:
    import platform
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.system()} {platform.release()} {platform.machine()}, {os.cpu_count()} cores {cpu}".strip()
