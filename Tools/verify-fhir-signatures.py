#!/usr/bin/env python3
"""Checks every signature of a Prolo FHIR history export without Prolo, as an auditor outside the clinic would.

    python3 Tools/verify-fhir-signatures.py HISTORY.json [--dictionary Schemas/dictionaries/v1.dict]

The Bundle (`prolo export fhir --patient ID --history`) carries each event's signed bytes as a Binary
(application/vnd.prolo.event: the wire record of Schemas/envelope.md) and one Provenance per event. For each event
it checks, with nothing but Python's standard library and `cryptography`:
  - the record parses: version 1, envelope, body, 32-byte hash, 64-byte signature, nothing after;
  - the envelope is canonical JSON, and hash = SHA-256(envelope || 0x0A || body);
  - the body inflates (zlib, with the preset dictionary when dict = 1, if --dictionary is given) to canonical JSON;
  - the Provenance with the event's id carries the same signature and hash, signed by a Device of the Bundle whose
    public key's fingerprint (hex of SHA-256(key)[:16]) is the event's origin, and the Ed25519 signature verifies;
  - per origin, each event's patientPrev is the hash of that origin's previous event of the patient in the
    Bundle (null for the first): the patient's slice of every device's chain is whole.
Prints one line per problem and ends with 'N events, M problems'; exits 1 on any problem.
"""
import argparse
import base64
import hashlib
import json
import struct
import sys
import zlib

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

CONTENT_TYPE = "application/vnd.prolo.event"
HASH_EXTENSION = "urn:prolo:fhir:StructureDefinition:event-hash"
KEY_SYSTEM = "urn:prolo:device-key"


def canonical(value) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def parse_record(record: bytes):
    """(envelope bytes, body, hash, signature) of a wire record; raises ValueError when malformed."""
    if len(record) < 42 or record[0] != 1:
        raise ValueError("not a version-1 wire record")
    (envelope_length,) = struct.unpack(">I", record[1:5])
    envelope = record[5:5 + envelope_length]
    at = 5 + envelope_length
    (body_length,) = struct.unpack(">I", record[at:at + 4])
    body = record[at + 4:at + 4 + body_length]
    at += 4 + body_length
    digest = record[at:at + 32]
    signature_length = record[at + 32]
    signature = record[at + 33:at + 33 + signature_length]
    if len(envelope) != envelope_length or len(body) != body_length or len(digest) != 32 \
            or signature_length != 64 or len(signature) != 64 or at + 33 + signature_length != len(record):
        raise ValueError("truncated or trailing bytes")
    return envelope, body, digest, signature


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundle")
    parser.add_argument("--dictionary", help="the zlib preset dictionary of dict = 1 (Schemas/dictionaries/v1.dict)")
    args = parser.parse_args()
    bundle = json.load(open(args.bundle, encoding="utf-8"))
    dictionary = open(args.dictionary, "rb").read() if args.dictionary else None
    resources = [entry["resource"] for entry in bundle.get("entry", []) if "resource" in entry]
    binaries = [r for r in resources if r["resourceType"] == "Binary" and r.get("contentType") == CONTENT_TYPE]
    provenance = {r["id"]: r for r in resources if r["resourceType"] == "Provenance"}  # the last version of each
    keys = {}
    for device in (r for r in resources if r["resourceType"] == "Device"):
        for identifier in device.get("identifier", []):
            if identifier.get("system") == KEY_SYSTEM:
                keys["Device/" + device["id"]] = base64.b64decode(identifier["value"])

    problems = 0

    def problem(event_id, text):
        nonlocal problems
        problems += 1
        print(f"event {event_id}: {text}")

    previous_for_patient = {}  # origin -> hash hex of its latest event of the patient so far (in originSeq order)
    events = []
    for binary in binaries:
        try:
            envelope_bytes, body, digest, signature = parse_record(base64.b64decode(binary["data"]))
            envelope = json.loads(envelope_bytes)
        except (ValueError, struct.error, IndexError) as error:
            problem(binary.get("id"), f"unreadable record: {error}")
            continue
        events.append((envelope, envelope_bytes, body, digest, signature))

    for envelope, envelope_bytes, body, digest, signature in events:
        event_id = envelope.get("id")
        if canonical(envelope) != envelope_bytes:
            problem(event_id, "the envelope is not canonical JSON")
        if hashlib.sha256(envelope_bytes + b"\n" + body).digest() != digest:
            problem(event_id, "hash != SHA-256(envelope || 0x0A || body)")
        if envelope.get("dict") == 0 or dictionary is not None:
            inflater = zlib.decompressobj(zdict=dictionary) if envelope.get("dict") == 1 else zlib.decompressobj()
            try:
                payload = inflater.decompress(body) + inflater.flush()
                if canonical(json.loads(payload)) != payload:
                    problem(event_id, "the body is not canonical JSON")
            except (zlib.error, ValueError) as error:
                problem(event_id, f"the body does not inflate: {error}")
        record = provenance.get(event_id)
        if record is None:
            problem(event_id, "no Provenance names this event")
            continue
        signed = (record.get("signature") or [{}])[0]
        if base64.b64decode(signed.get("data", "")) != signature:
            problem(event_id, "the Provenance's signature is not the event's")
        hashes = [e.get("valueString") for e in signed.get("extension", []) if e.get("url") == HASH_EXTENSION]
        if hashes != [digest.hex()]:
            problem(event_id, "the Provenance's event hash is not the event's")
        who = signed.get("who", {}).get("reference")
        key = keys.get(who)
        if key is None:
            problem(event_id, f"the signer {who} is not a Device of the Bundle with a public key")
            continue
        if hashlib.sha256(key).hexdigest()[:32] != envelope.get("origin"):
            problem(event_id, f"{who}'s key is not the event's origin {envelope.get('origin')}")
        try:
            Ed25519PublicKey.from_public_bytes(key).verify(signature, digest)
        except InvalidSignature:
            problem(event_id, "the Ed25519 signature does not verify")

    # The patient's slice of each origin's chain, in originSeq order: patientPrev links every event to the last.
    clinical = sorted((e for e in events if e[0].get("patient")), key=lambda e: (e[0]["origin"], e[0]["originSeq"]))
    for envelope, _, _, digest, _ in clinical:
        origin = envelope["origin"]
        if envelope.get("patientPrev") != previous_for_patient.get(origin):
            problem(envelope["id"], f"patientPrev does not link to origin {origin[:12]}'s previous event of the patient")
        previous_for_patient[origin] = digest.hex()

    print(f"{len(events)} events, {problems} problems")
    return 1 if problems or not events else 0


if __name__ == "__main__":
    sys.exit(main())
