// libFuzzer entry point; see Tools/fuzz.sh and Tools/FUZZING.md. Without -sanitize=fuzzer this builds as an
// executable that does nothing (SwiftPM renames `main`; nothing here runs at top level).
//
// One input is tried four ways:
// 1. as a binary event record (EventWireCodec.decode); a record that decodes must re-encode to the same bytes
//    (decode refuses non-canonical envelopes and trailing bytes), and its body is inflated and decoded;
// 2. as a JSON document (JSONParser.parse); a parsed value must survive canonical encoding unchanged;
// 3. bytes 1… as the JSON payload of the event type chosen by byte 0 (EventType.decodePayload); a payload that
//    decodes must decode again, equal, from its canonical bytes;
// 4. bytes 1… as a canonical envelope (Event(canonicalEnvelope:body:hash:signature:), which is what decode does
//    after the framing; this reaches the envelope's fields without the record's length prefixes in the way); an
//    envelope that is accepted must survive a trip through the wire format;
// 5. as a compressed body (BodyCodec.decompress, dictionary version 1).
// Errors are expected; crashes, hangs, unbounded allocations and broken round trips are findings.
import ProloDomain

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = Array(UnsafeRawBufferPointer(start: start, count: count))
    FuzzEvent.record(bytes)
    FuzzEvent.json(bytes)
    if let selector = bytes.first {
        let types = EventType.allCases
        FuzzEvent.payload(bytes.dropFirst(), as: types[Int(selector) % types.count])
        FuzzEvent.envelope(Array(bytes.dropFirst()))
    }
    _ = try? BodyCodec.decompress(bytes, dictionaryVersion: 1)
    return 0
}

private enum FuzzEvent {
    static func record(_ bytes: [UInt8]) {
        guard let event = try? EventWireCodec.decode(bytes) else { return }
        precondition(
            EventWireCodec.encode(event) == bytes,
            "EventWireCodec.decode accepted a record that does not re-encode to itself")
        _ = event.hasValidHash
        _ = try? event.payload()
    }

    static func envelope(_ bytes: [UInt8]) {
        guard let hash = try? EventHash(bytes: [UInt8](repeating: 0xAB, count: 32)),
            let event = try? Event(canonicalEnvelope: bytes, body: [0x78, 0xDA], hash: hash, signature: [1, 2, 3])
        else { return }
        let record = EventWireCodec.encode(event)
        let again = try? EventWireCodec.decode(record)
        precondition(again == event, "an envelope Event(canonicalEnvelope:…) accepts does not survive the wire format")
    }

    static func json(_ bytes: some Collection<UInt8>) {
        guard let value = try? JSONParser.parse(bytes) else { return }
        let canonical = CanonicalJSON.encode(value)
        let again = try? JSONParser.parse(canonical)
        precondition(again == value, "JSONParser/CanonicalJSON: a parsed value does not survive canonical encoding")
    }

    static func payload(_ bytes: ArraySlice<UInt8>, as type: EventType) {
        json(bytes)
        guard let payload = try? type.decodePayload(from: bytes) else { return }
        roundTrip(payload)
    }

    private static func roundTrip<Payload: EventPayload>(_ payload: Payload) {
        guard let canonical = try? PayloadCodec.canonicalBytes(of: payload) else {
            preconditionFailure("\(Payload.eventType.rawValue): a decoded payload has no canonical bytes")
        }
        let again = try? PayloadCodec.decode(Payload.self, from: canonical)
        precondition(
            again == payload,
            "\(Payload.eventType.rawValue): a decoded payload does not decode again from its canonical bytes")
    }
}
