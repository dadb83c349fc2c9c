#!/usr/bin/env python3
"""Writes the seed corpora of the libFuzzer targets (Tools/fuzz.sh) under Tools/Fuzz/corpus/<target>/.

The seeds come from real data: the `prolo` CLI records the demo story (`prolo demo story`) and exports it as bundles
(`prolo sync export`, plain, encrypted and one patient's slice); the catalog's example payloads come from
Schemas/examples/. Everything else is derived here with zlib and SHA-256 only:

  event/   each bundle record (binary event record), a few compressed bodies and canonical envelopes, and every
           example payload (valid, plus some invalid ones) prefixed with the byte that makes prolo-fuzz-event pick
           its event type (envelopes get a 0 byte: the target reads both from byte 1 on).
  bundle/  the exported bundles, a three-block bundle, and "expanded" variants whose block payloads are the raw
           framed records (the form prolo-fuzz-bundle reseals: see Tools/Fuzz/BundleReader/main.swift).
  batch/   sync batches (`u32 count`, `u32 inflated length`, zlib of `u32 length` + record …, per
           Schemas/openapi.yaml) of 0, 1, 5 and all records, and their "raw" variants (`u32 count` + framed
           records, the form prolo-fuzz-batch deflates itself).

Encrypted bundles are encrypted to the X25519 bundle key of the device key with seed 0x01…0x20, the key the
bundle target reads with; its public half is derived here (HKDF-SHA256, X25519 as in RFC 7748).

Usage: Tools/fuzz-seeds.py [--prolo PATH] [--out DIR] [--force]
  --prolo  the prolo executable (default: .build/debug/prolo, built with `swift build --product prolo` if missing)
  --out    the corpus root (default: Tools/Fuzz/corpus)
  --force  replace existing seed files (default: a target whose directory holds files is left alone)
"""

import argparse
import base64
import hashlib
import hmac
import json
import os
import re
import struct
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PREAMBLE_SIZE = 58


# -- The fixed recipient key -------------------------------------------------------------------------------------

def hkdf_sha256(ikm: bytes, salt: bytes, info: bytes, length: int) -> bytes:
    prk = hmac.new(salt, ikm, hashlib.sha256).digest()
    output, block, counter = b"", b"", 1
    while len(output) < length:
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        output += block
        counter += 1
    return output[:length]


def x25519_base(scalar: bytes) -> bytes:
    """X25519(scalar, 9) per RFC 7748 (Montgomery ladder)."""
    p = 2**255 - 19
    a24 = 121665
    k = bytearray(scalar)
    k[0] &= 248
    k[31] &= 127
    k[31] |= 64
    k = int.from_bytes(bytes(k), "little")
    x1, x2, z2, x3, z3, swap = 9, 1, 0, 9, 1, 0
    for t in reversed(range(255)):
        bit = (k >> t) & 1
        swap ^= bit
        if swap:
            x2, x3, z2, z3 = x3, x2, z3, z2
        swap = bit
        a, b = (x2 + z2) % p, (x2 - z2) % p
        aa, bb = a * a % p, b * b % p
        e = (aa - bb) % p
        c, d = (x3 + z3) % p, (x3 - z3) % p
        da, cb = d * a % p, c * b % p
        x3 = (da + cb) ** 2 % p
        z3 = x1 * (da - cb) ** 2 % p
        x2 = aa * bb % p
        z2 = e * (aa + a24 * e) % p
    if swap:
        x2, z2 = x3, z3
    return (x2 * pow(z2, p - 2, p) % p).to_bytes(32, "little")


def fixed_recipient_public_key() -> str:
    seed = bytes(range(1, 33))
    private = hkdf_sha256(seed, b"prolo-bundle-agreement-v1", b"", 32)
    return base64.b64encode(x25519_base(private)).decode()


# -- Bundle layout (Schemas/bundle.md) -----------------------------------------------------------------------------

def u32(value: int) -> bytes:
    return struct.pack(">I", value)


def frame(records) -> bytes:
    return b"".join(u32(len(record)) + record for record in records)


def parse_bundle(data: bytes):
    """(preamble, stored header section, [(fields, stored payload)], trailer fields) of a bundle."""
    preamble = data[:PREAMBLE_SIZE]
    (size,) = struct.unpack_from(">I", data, PREAMBLE_SIZE)
    section = data[PREAMBLE_SIZE + 4:PREAMBLE_SIZE + 4 + size]
    position = PREAMBLE_SIZE + 4 + size + 32
    blocks = []
    while data[position] == 0x42:
        fields = data[position:position + 17]
        (stored_size,) = struct.unpack_from(">I", fields, 13)
        stored = data[position + 49:position + 49 + stored_size]
        blocks.append((fields, stored))
        position += 49 + stored_size
    trailer = data[position:position + 13]
    if trailer[:1] != b"T":
        raise ValueError("no trailer where expected")
    return preamble, section, blocks, trailer


def records_of(raw: bytes):
    records, position = [], 0
    while position < len(raw):
        (length,) = struct.unpack_from(">I", raw, position)
        records.append(raw[position + 4:position + 4 + length])
        position += 4 + length
    return records


def write_bundle(preamble: bytes, section: bytes, blocks, expanded: bool = False) -> bytes:
    """A bundle of the given record groups (one block each); `expanded` writes raw payloads and zero checksums."""
    out = bytearray(preamble + u32(len(section)) + section)
    out += hashlib.sha256(out).digest()
    total = 0
    for index, records in enumerate(blocks):
        raw = frame(records)
        payload = raw if expanded else zlib.compress(raw)
        fields = b"B" + u32(index) + u32(len(records)) + u32(len(raw)) + u32(len(payload))
        out += fields + (bytes(32) if expanded else hashlib.sha256(fields + payload).digest()) + payload
        total += len(records)
    out += b"T" + u32(len(blocks)) + struct.pack(">Q", total)
    out += bytes(32) if expanded else hashlib.sha256(out).digest()
    return bytes(out)


def batch(records, raw_form: bool = False) -> bytes:
    raw = frame(records)
    if raw_form:
        return u32(len(records)) + raw
    return u32(len(records)) + u32(len(raw)) + zlib.compress(raw)


def envelope_of(record: bytes) -> bytes:
    (envelope_length,) = struct.unpack_from(">I", record, 1)
    return record[5:5 + envelope_length]


def body_of(record: bytes) -> bytes:
    (envelope_length,) = struct.unpack_from(">I", record, 1)
    (body_length,) = struct.unpack_from(">I", record, 5 + envelope_length)
    start = 9 + envelope_length
    return record[start:start + body_length]


def event_types():
    """The catalog's event types in EventType.allCases order (prolo-fuzz-event picks `allCases[byte0 % count]`)."""
    source = (ROOT / "Sources/ProloDomain/Catalog/EventType.swift").read_text()
    return re.findall(r'^\s*case \w+ = "([^"]+)"', source, re.MULTILINE)


# -- Main ---------------------------------------------------------------------------------------------------------

def find_prolo(given):
    if given:
        return given
    candidate = ROOT / ".build/debug/prolo"
    if not candidate.exists():
        print("fuzz-seeds: building prolo (swift build --product prolo) ...", file=sys.stderr)
        subprocess.run(["swift", "build", "--product", "prolo"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return str(candidate)


def run(prolo, *arguments):
    subprocess.run([prolo, *arguments], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def write_seeds(directory: Path, seeds, force: bool):
    directory.mkdir(parents=True, exist_ok=True)
    if any(directory.iterdir()) and not force:
        print(f"fuzz-seeds: {directory} already holds files; left alone (--force replaces them)")
        return
    for name, data in seeds.items():
        (directory / name).write_bytes(data)
    print(f"fuzz-seeds: {len(seeds)} seeds, {sum(map(len, seeds.values()))} bytes in {directory}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--prolo")
    parser.add_argument("--out", default=str(ROOT / "Tools/Fuzz/corpus"))
    parser.add_argument("--force", action="store_true")
    arguments = parser.parse_args()
    prolo = find_prolo(arguments.prolo)
    out = Path(arguments.out)

    with tempfile.TemporaryDirectory(prefix="prolo-fuzz-seeds-") as work:
        store = os.path.join(work, "demo.sqlite")
        # `prolo demo story --store X`; builds from before `demo system` took `prolo demo --store X`.
        try:
            run(prolo, "demo", "story", "--store", store)
        except subprocess.CalledProcessError:
            run(prolo, "demo", "--store", store)
        exports = {
            "plain.prolobundle": [],
            "encrypted.prolobundle": ["--recipient", fixed_recipient_public_key()],
            "patient.prolobundle": ["--patient", "p-0001"],
        }
        bundles = {}
        for name, extra in exports.items():
            path = os.path.join(work, name)
            run(prolo, "sync", "export", "--out", path, "--store", store, *extra)
            bundles[name] = Path(path).read_bytes()

    preamble, section, blocks, _ = parse_bundle(bundles["plain.prolobundle"])
    records = [record for _, stored in blocks for record in records_of(zlib.decompress(stored))]
    if not records:
        sys.exit("fuzz-seeds: the demo bundle holds no records")

    # event/
    event = {f"record-{index:02d}.bin": record for index, record in enumerate(records)}
    for index in (0, len(records) // 2, len(records) - 1):
        event[f"body-{index:02d}.zlib"] = body_of(records[index])
    for index in range(0, len(records), 3):
        event[f"envelope-{index:02d}.json"] = b"\0" + envelope_of(records[index])
    types = event_types()
    examples = ROOT / "Schemas/examples"
    for index, name in enumerate(types):
        example = examples / f"{name}.json"
        if example.exists():
            event[f"payload-{name}.json"] = bytes([index]) + example.read_bytes()
    for example in sorted((examples / "invalid").glob("*.json"))[::8]:
        name = example.name.split("--")[0]
        if name in types:
            event[f"invalid-{example.name}"] = bytes([types.index(name)]) + example.read_bytes()
    write_seeds(out / "event", event, arguments.force)

    # bundle/
    groups = [records[:5], records[5:12], records[12:]]
    bundle = dict(bundles)
    bundle["three-blocks.prolobundle"] = write_bundle(preamble, section, groups)
    bundle["plain.expanded"] = write_bundle(preamble, section, [records], expanded=True)
    bundle["three-blocks.expanded"] = write_bundle(preamble, section, groups, expanded=True)
    patient_preamble, patient_section, patient_blocks, _ = parse_bundle(bundles["patient.prolobundle"])
    patient_records = [r for _, stored in patient_blocks for r in records_of(zlib.decompress(stored))]
    bundle["patient.expanded"] = write_bundle(patient_preamble, patient_section, [patient_records], expanded=True)
    bundle["header-only.expanded"] = write_bundle(preamble, section, [], expanded=True)
    write_seeds(out / "bundle", bundle, arguments.force)

    # batch/
    sizes = {"empty": 0, "one": 1, "five": 5, "all": len(records)}
    batches = {}
    for name, size in sizes.items():
        batches[f"{name}.batch"] = batch(records[:size])
        batches[f"{name}.raw"] = batch(records[:size], raw_form=True)
    write_seeds(out / "batch", batches, arguments.force)


if __name__ == "__main__":
    main()
