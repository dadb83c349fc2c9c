#!/usr/bin/env python3
"""Verifies Schemas/test-vectors/events.v1.json and events.v2.json with nothing but Python's standard library and `cryptography`.

It shows that another implementation (a home app in any language) can check and produce Prolo events:
canonical JSON, zlib with the preset dictionary, SHA-256 over envelope || "\\n" || body, and Ed25519.
Prints one line per check and ends with 'N passed, M failed'; exits 1 on any failure.
"""
import base64
import hashlib
import json
import pathlib
import sys
import zlib

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives import serialization

ROOT = pathlib.Path(__file__).resolve().parent.parent


def canonical(value) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def main() -> int:
    passed = failed = 0
    for name in ("events.v1.json", "events.v2.json"):
        print(f"# {name}")
        ok, bad = check_file(ROOT / "Schemas" / "test-vectors" / name)
        passed += ok
        failed += bad
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


def check_file(path) -> tuple:
    vectors = json.loads(path.read_text())
    dictionary = (ROOT / vectors["dictionaryFile"]).read_bytes()
    private = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(vectors["seedHex"]))
    public_raw = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    public = Ed25519PublicKey.from_public_bytes(public_raw)
    passed = failed = 0

    def check(name: str, ok: bool) -> None:
        nonlocal passed, failed
        print(("ok    " if ok else "FAIL  ") + name)
        if ok:
            passed += 1
        else:
            failed += 1

    check("public key derives from the seed", base64.b64encode(public_raw).decode() == vectors["publicKey"])
    check("origin = hex(SHA-256(public key)[:16])", hashlib.sha256(public_raw).hexdigest()[:32] == vectors["origin"])
    previous = None
    for index, event in enumerate(vectors["events"], start=1):
        envelope_text = event["canonicalEnvelope"].encode("utf-8")
        envelope = json.loads(envelope_text)
        body = base64.b64decode(event["bodyBase64"])
        check(f"event {index}: envelope is canonical JSON", canonical(envelope) == envelope_text)
        inflater = zlib.decompressobj(zdict=dictionary) if envelope["dict"] == 1 else zlib.decompressobj()
        payload = inflater.decompress(body) + inflater.flush()
        check(f"event {index}: body inflates to the canonical payload", payload == event["canonicalPayload"].encode())
        check(f"event {index}: payload is canonical JSON", canonical(json.loads(payload)) == payload)
        digest = hashlib.sha256(envelope_text + b"\n" + body).hexdigest()
        check(f"event {index}: hash = SHA-256(envelope || 0x0A || body)", digest == event["hash"])
        signature = base64.b64decode(event["sigBase64"])
        try:
            public.verify(signature, bytes.fromhex(event["hash"]))
            verified = True
        except Exception:
            verified = False
        check(f"event {index}: Ed25519 signature of the hash verifies", verified)
        check(f"event {index}: Python signs the same bytes (deterministic Ed25519)",
              private.sign(bytes.fromhex(event["hash"])) == signature)
        check(f"event {index}: origin and originSeq", envelope["origin"] == vectors["origin"] and envelope["originSeq"] == index)
        check(f"event {index}: prev links to the previous event", envelope["prev"] == previous)
        previous = event["hash"]
    return passed, failed


if __name__ == "__main__":
    sys.exit(main())
