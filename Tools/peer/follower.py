#!/usr/bin/env python3
"""The peer's follower: Python `eventsourcing` 9.5.6 catching up on a leader's notification log.

Issue 13 compares Prolo's sync (bundle import into a projected store, HTTP initial sync) with this: a leader
application records N domain events of a clinical mix over P patient aggregates in SQLite with zlib compression,
then a follower `ProcessApplication`, started afterwards with a fresh SQLite database, catches up on the leader's
notification log. Run it in the venv Tools/bench makes (.build-venv/peer, `pip install eventsourcing==9.5.6`):

  .build-venv/peer/bin/python Tools/peer/follower.py [--events N] [--patients P] [--batch B] [--dir DIR]
                                                     [--cache-size C] [--rows FILE]

  --events N      events the leader records (default 100000, the sync benchmark's default)
  --patients P    patient aggregates (default 1000, the sync benchmark's default)
  --batch B       the leader saves the aggregates it touched every B events, one transaction (default 1000, as
                  the sync benchmark's clinic records in batches of 1000)
  --cache-size C  the follower's aggregate cache (AGGREGATE_CACHE_MAXSIZE; default: P, every patient cached, so a
                  patient's state is not replayed from its history for each event; 0: no cache)
  --dir DIR       where the two SQLite databases go (a temporary directory under DIR, removed afterwards)
  --rows FILE     also append the table rows (Tools/bench's BenchRow JSON lines) to FILE

Prints one JSON object: the leader's recording and the follower's catch-up (events, seconds, events/s, bytes).

How it is built (the library's documented way: the "Systems" tutorial and the `eventsourcing.system` module):
- The leader, `Clinic`, is an `Application`; its `Patient` aggregate has one `@event` method per kind of clinical
  event, each carrying a JSON-ish payload taken from Prolo's own catalog examples (Schemas/examples/*.json, the
  payloads Prolo's benchmarks vary), varied per patient, in the order of Prolo's clinical mix (Tools/BenchSupport/
  ClinicalMix.swift: registration, consent, exam, a planned course, then per session a booking, the injection,
  sometimes a side effect and its resolution, pain reports, adjunct therapy; follow-up and close; another course).
- The follower, `PatientRecords`, is a `ProcessApplication`. Its `policy` turns each of the leader's events into
  an event of the follower's own `PatientRecord` aggregate (the same kind, time and payload, i.e. a copy of the
  record, as an import stores it) whose state is a derived summary (the open course, sessions done, the last pain
  score, open side effects, an infection alert), the read model Prolo's projected store keeps. The library records
  the new events with the tracking position atomically, one transaction per leader event.
- Both run in a `System(pipes=[[Clinic, PatientRecords]])` under a `SingleThreadedRunner`, with
  PERSISTENCE_MODULE=eventsourcing.sqlite, a database per application (CLINIC_SQLITE_DBNAME,
  PATIENTRECORDS_SQLITE_DBNAME) and COMPRESSOR_TOPIC=eventsourcing.compressor:ZlibCompressor.
- The leader records first (the runner is not started, so nothing follows yet); then the runner starts with the
  follower's database empty and the follower catches up with `pull_and_process("Clinic")`, which reads the
  leader's notification log in sections from the follower's last tracked position. That catch-up is the timed
  workload. It checks that the follower tracked the leader's last notification and holds one event per event.
"""
import argparse
import copy
import json
import os
import random
import resource
import shutil
import sys
import tempfile
import time
from uuid import NAMESPACE_URL, uuid5

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from eventsourcing.system import ProcessApplication, SingleThreadedRunner, System

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLES = os.path.join(ROOT, "Schemas", "examples")
VERSION = "9.5.6"
DAY_MS = 86_400_000
GIVEN = ["Maren", "Johan", "Aino", "Lars", "Ingrid", "Mikael", "Sofia", "Erik", "Noor", "Tomas"]
FAMILY = ["Lindqvist", "Berg", "Nieminen", "Dahl", "Holm", "Sandberg", "Virtanen", "Ek", "Ali", "Strand"]


# MARK: the leader's domain


def patient_id(number):
    return uuid5(NAMESPACE_URL, f"/patients/p-{number:05d}")


class Patient(Aggregate):
    """A patient's clinical record: one event method per kind of clinical event, each with a JSON-ish payload."""

    @event("Registered")
    def __init__(self, number, at, payload):
        self.number = number
        self.count = 1

    @classmethod
    def create_id(cls, number, at=None, payload=None):
        return patient_id(number)

    def _note(self):
        self.count += 1

    @event("ConsentRecorded")
    def record_consent(self, at, payload):
        self._note()

    @event("ExamRecorded")
    def record_exam(self, at, payload):
        self._note()

    @event("CoursePlanned")
    def plan_course(self, at, payload):
        self._note()

    @event("SessionScheduled")
    def schedule_session(self, at, payload):
        self._note()

    @event("SessionCancelled")
    def cancel_session(self, at, payload):
        self._note()

    @event("EventRetracted")
    def retract(self, at, payload):
        self._note()

    @event("InjectionAdministered")
    def administer_injection(self, at, payload):
        self._note()

    @event("SideEffectReported")
    def report_side_effect(self, at, payload):
        self._note()

    @event("AlertCleared")
    def clear_alert(self, at, payload):
        self._note()

    @event("SideEffectResolved")
    def resolve_side_effect(self, at, payload):
        self._note()

    @event("PainReported")
    def report_pain(self, at, payload):
        self._note()

    @event("EventAmended")
    def amend(self, at, payload):
        self._note()

    @event("AdjunctTherapyRecorded")
    def record_adjunct(self, at, payload):
        self._note()

    @event("CourseClosed")
    def close_course(self, at, payload):
        self._note()


class Clinic(Application):
    """The leader. Recording goes through `save`, as any application's commands do."""


# MARK: the follower


class PatientRecord(Aggregate):
    """The follower's copy of one patient's record, with the derived state a read model keeps."""

    @event("Opened")
    def __init__(self, patient):
        self.patient = patient
        self.count = 0
        self.course_open = False
        self.sessions_done = 0
        self.last_pain = None
        self.open_side_effects = 0
        self.infection_alert = False
        self.last_at = None

    @classmethod
    def create_id(cls, patient):
        return uuid5(NAMESPACE_URL, f"/records/{patient}")

    @event("Recorded")
    def record(self, kind, at, payload):
        self.count += 1
        self.last_at = at
        if kind == "CoursePlanned":
            self.course_open, self.sessions_done = True, 0
        elif kind == "CourseClosed":
            self.course_open = False
        elif kind == "InjectionAdministered":
            self.sessions_done += 1
        elif kind == "PainReported":
            self.last_pain = payload.get("score")
        elif kind == "SideEffectReported":
            self.open_side_effects += 1
            if payload.get("temperatureC", 0) >= 38.0:
                self.infection_alert = True
        elif kind == "SideEffectResolved":
            self.open_side_effects = max(0, self.open_side_effects - 1)
        elif kind == "AlertCleared":
            self.infection_alert = False


class PatientRecords(ProcessApplication):
    """The follower: copies each of the leader's patient events into its own record and keeps the summary."""

    def policy(self, domain_event, processing_event):
        if not isinstance(domain_event, Patient.Event):
            return
        record_id = PatientRecord.create_id(domain_event.originator_id)
        if domain_event.originator_version == 1:
            record = PatientRecord(domain_event.originator_id)
        else:
            record = self.repository.get(record_id)
        record.record(kind=type(domain_event).__name__, at=domain_event.at, payload=domain_event.payload)
        processing_event.collect_events(record)


# MARK: the clinical mix


def load_templates():
    templates = {}
    for name, file in [
        ("Registered", "patient.registered"), ("ConsentRecorded", "consent.recorded"),
        ("ExamRecorded", "exam.recorded"),
        ("CoursePlanned", "course.planned"), ("SessionScheduled", "session.scheduled"),
        ("SessionCancelled", "session.cancelled"), ("EventRetracted", "event.retracted"),
        ("InjectionAdministered", "injection.administered"), ("SideEffectReported", "side-effect.reported"),
        ("AlertCleared", "alert.cleared"), ("SideEffectResolved", "side-effect.resolved"),
        ("PainReported", "pain.reported"), ("EventAmended", "event.amended"),
        ("AdjunctTherapyRecorded", "adjunct-therapy.recorded"), ("CourseClosed", "course.closed"),
    ]:
        with open(os.path.join(EXAMPLES, f"{file}.json")) as source:
            templates[name] = json.load(source)
    return templates


def iso(milliseconds):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(milliseconds / 1000)) + f".{milliseconds % 1000:03d}Z"


class Story:
    """One patient's treatment story, the agenda of Prolo's `PatientStory` (ClinicalMix.swift), one event at a time."""

    def __init__(self, number, rng):
        self.number = number
        self.time = 1_780_000_000_000 + rng.randrange(365 * DAY_MS)
        self.agenda = ["Registered", "ConsentRecorded", "ExamRecorded", "CoursePlanned"]
        self.course = False
        self.sessions_done = 0
        self.nrs = rng.randint(5, 9)

    def refill(self, rng):
        if self.course and self.sessions_done < 6:
            block = ["SessionScheduled"]
            if rng.random() < 0.05:
                block += ["SessionCancelled", "SessionScheduled"]
            if rng.random() < 0.01:
                block += ["SessionScheduled", "EventRetracted"]
            block.append("InjectionAdministered")
            if rng.random() < 0.015:
                block += ["SideEffectReported!", "AlertCleared", "PainReported", "SideEffectResolved"]
            elif rng.random() < 0.12:
                block += ["SideEffectReported", "PainReported", "SideEffectResolved"]
            block += ["PainReported", "AdjunctTherapyRecorded", "PainReported", "AdjunctTherapyRecorded",
                      "PainReported"]
            if rng.random() < 0.03:
                block.append("EventAmended")
            block.append("PainReported")
            self.agenda = block
        elif self.course:
            self.agenda = ["ExamRecorded", "PainReported", "CourseClosed"]
        else:
            self.agenda = ["AdjunctTherapyRecorded", "PainReported", "PainReported", "ExamRecorded", "CoursePlanned"]

    def next(self, templates, rng):
        """The next (kind, at, payload)."""
        if not self.agenda:
            self.refill(rng)
        kind = self.agenda.pop(0)
        fever = kind.endswith("!")
        kind = kind.rstrip("!")
        self.time += rng.randrange(DAY_MS // 24, DAY_MS * (7 if kind == "SessionScheduled" else 1))
        payload = copy.deepcopy(templates[kind])
        patient = f"p-{self.number:05d}"
        if kind == "Registered":
            payload["mrn"] = f"MRN-{self.number:07d}"
            payload["name"] = {"given": GIVEN[self.number % len(GIVEN)],
                               "family": FAMILY[self.number // 10 % len(FAMILY)]}
        elif kind == "CoursePlanned":
            self.course, self.sessions_done = True, 0
        elif kind == "CourseClosed":
            self.course = False
        elif kind == "InjectionAdministered":
            self.sessions_done += 1
        elif kind == "PainReported":
            self.nrs = max(0, min(10, self.nrs + rng.choice([-1, -1, 0, 1])))
            payload["score"] = self.nrs
            if isinstance(payload.get("reporter"), dict):
                payload["reporter"]["id"] = patient
        elif kind == "SideEffectReported" and fever:
            payload["temperatureC"] = 38.6
        for key in ("appointmentAt", "resolvedAt"):
            if isinstance(payload.get(key), str):
                payload[key] = iso(self.time)
        return kind, iso(self.time), payload


METHODS = {
    "ConsentRecorded": Patient.record_consent, "ExamRecorded": Patient.record_exam,
    "CoursePlanned": Patient.plan_course, "SessionScheduled": Patient.schedule_session,
    "SessionCancelled": Patient.cancel_session, "EventRetracted": Patient.retract,
    "InjectionAdministered": Patient.administer_injection, "SideEffectReported": Patient.report_side_effect,
    "AlertCleared": Patient.clear_alert, "SideEffectResolved": Patient.resolve_side_effect,
    "PainReported": Patient.report_pain, "EventAmended": Patient.amend,
    "AdjunctTherapyRecorded": Patient.record_adjunct, "CourseClosed": Patient.close_course,
}


# MARK: the run


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def file_bytes(path):
    return sum(os.path.getsize(path + suffix) for suffix in ("", "-wal") if os.path.exists(path + suffix))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--patients", type=int, default=1_000)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--cache-size", type=int)
    parser.add_argument("--dir")
    parser.add_argument("--rows")
    parser.add_argument("--seed", type=int, default=42)
    options = parser.parse_args()
    events, patients = max(1, options.events), max(1, min(options.patients, options.events))
    cache_size = patients if options.cache_size is None else max(0, options.cache_size)

    import eventsourcing
    version = getattr(eventsourcing, "__version__", None)
    if version is None:
        from importlib.metadata import version as installed
        version = installed("eventsourcing")

    directory = tempfile.mkdtemp(prefix="prolo-peer-", dir=options.dir)
    try:
        leader_db = os.path.join(directory, "clinic.sqlite")
        follower_db = os.path.join(directory, "records.sqlite")
        env = {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "COMPRESSOR_TOPIC": "eventsourcing.compressor:ZlibCompressor",
            "CLINIC_SQLITE_DBNAME": leader_db,
            "PATIENTRECORDS_SQLITE_DBNAME": follower_db,
        }
        if cache_size:
            env["PATIENTRECORDS_AGGREGATE_CACHE_MAXSIZE"] = str(cache_size)

        # 1. The leader records the clinic's history (nothing follows yet).
        rng = random.Random(options.seed)
        templates = load_templates()
        stories = [Story(number, rng) for number in range(patients)]
        aggregates = {}
        clinic = Clinic(env=env)
        payload_bytes = 0
        touched = {}
        cpu = cpu_seconds()
        start = time.perf_counter()
        for index in range(events):
            # Patients take turns at random, as the clinic's days interleave them.
            story = stories[rng.randrange(patients)]
            kind, at, payload = story.next(templates, rng)
            payload_bytes += len(json.dumps(payload, separators=(",", ":")))
            if story.number not in aggregates:
                aggregates[story.number] = Patient(story.number, at, payload)
                if kind != "Registered":  # the story always starts with a registration
                    raise AssertionError(kind)
            else:
                METHODS[kind](aggregates[story.number], at, payload)
            touched[story.number] = aggregates[story.number]
            if len(touched) and (index + 1) % options.batch == 0:
                clinic.save(*touched.values())
                touched = {}
        if touched:
            clinic.save(*touched.values())
        leader_seconds = time.perf_counter() - start
        leader_cpu = cpu_seconds() - cpu
        leader_notifications = clinic.recorder.max_notification_id()
        clinic.close()
        aggregates.clear()
        if leader_notifications != events:
            raise SystemExit(f"follower.py: the leader's log holds {leader_notifications} notifications, not {events}")

        # 2. The follower, fresh, catches up on the leader's notification log.
        runner = SingleThreadedRunner(System(pipes=[[Clinic, PatientRecords]]), env=env)
        runner.start()
        records = runner.get(PatientRecords)
        rss_before = peak_rss_mib()
        cpu = cpu_seconds()
        start = time.perf_counter()
        records.pull_and_process("Clinic")
        follower_seconds = time.perf_counter() - start
        follower_cpu = cpu_seconds() - cpu
        tracked = records.recorder.max_tracking_id("Clinic")
        follower_notifications = records.recorder.max_notification_id()
        runner.stop()
        if tracked != events or follower_notifications != events + patients:
            raise SystemExit(
                f"follower.py: the follower tracked {tracked} of {events} notifications and recorded "
                f"{follower_notifications} events (expected {events + patients}: one per event, "
                "one opening per patient)")

        result = {
            "library": f"eventsourcing {version}",
            "python": sys.version.split()[0],
            "events": events,
            "patients": patients,
            "meanPayloadBytes": round(payload_bytes / events, 1),
            "leader": {
                "seconds": round(leader_seconds, 3),
                "eventsPerSecond": round(events / leader_seconds, 1),
                "cpuSeconds": round(leader_cpu, 3),
                "batch": options.batch,
                "bytesPerEvent": round(file_bytes(leader_db) / events, 1),
            },
            "follower": {
                "seconds": round(follower_seconds, 3),
                "eventsPerSecond": round(events / follower_seconds, 1),
                "cpuSeconds": round(follower_cpu, 3),
                "tracked": tracked,
                "recorded": follower_notifications,
                "aggregateCacheMaxsize": cache_size,
                "bytesPerEvent": round(file_bytes(follower_db) / events, 1),
                "peakRSSMiB": round(peak_rss_mib(), 1),
                "peakRSSBeforeMiB": round(rss_before, 1),
            },
        }
        print(json.dumps(result, indent=2))
        if options.rows:
            size = f"{events} events"
            common = (f"{patients} patients; mean payload {result['meanPayloadBytes']} B of JSON (Prolo's catalog "
                      f"examples); Python {result['python']}")
            rows = [
                {"workload": f"peer: eventsourcing {version} follower (ProcessApplication, SingleThreadedRunner) "
                             "catching up on the leader's notification log into a fresh SQLite + zlib store",
                 "size": size, "eventsPerSecond": result["follower"]["eventsPerSecond"],
                 "bytesPerEvent": result["follower"]["bytesPerEvent"], "peakRSSMiB": result["follower"]["peakRSSMiB"],
                 "note": f"time {follower_seconds:.2f} s, CPU {follower_cpu:.2f} s (one thread); one transaction "
                         f"(fsync) per event (copy + derived summary + tracking); aggregate cache {cache_size}; "
                         f"{common}; bytes: follower's SQLite file with WAL"},
                {"workload": f"peer: eventsourcing {version} leader records the clinical mix "
                             f"(Application.save, batches of {options.batch}, SQLite + zlib)",
                 "size": size, "eventsPerSecond": result["leader"]["eventsPerSecond"],
                 "bytesPerEvent": result["leader"]["bytesPerEvent"], "peakRSSMiB": None,
                 "note": f"time {leader_seconds:.2f} s, CPU {leader_cpu:.2f} s; {common}; "
                         "bytes: leader's SQLite file with WAL"},
            ]
            with open(options.rows, "a") as out:
                for row in rows:
                    out.write(json.dumps(row) + "\n")
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
