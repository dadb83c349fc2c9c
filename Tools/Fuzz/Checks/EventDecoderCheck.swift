import ProloDomain

/// One input tried five ways:
/// 1. as a binary event record (`EventWireCodec.decode`); a record that decodes must re-encode to the same bytes
///    (decode refuses non-canonical envelopes and trailing bytes), and its body is inflated and decoded;
/// 2. as a JSON document (`JSONParser.parse`); a parsed value must survive canonical encoding unchanged;
/// 3. bytes 1… as the JSON payload of the event type chosen by byte 0 (`EventType.decodePayload`); a payload that
///    decodes must decode again, equal, from its canonical bytes;
/// 4. bytes 1… as a canonical envelope (`Event(canonicalEnvelope:body:hash:signature:)`, which is what decode does
///    after the framing; this reaches the envelope's fields without the record's length prefixes in the way); an
///    envelope that is accepted must survive a trip through the wire format;
/// 5. as a compressed body (`BodyCodec.decompress`, dictionary version 1).
enum EventDecoderCheck {
    static func run(_ input: [UInt8]) throws(FuzzCheckFailure) {
        try record(input)
        try json(input)
        if let selector = input.first {
            let types = EventType.allCases
            try payload(input.dropFirst(), as: types[Int(selector) % types.count])
            try envelope(Array(input.dropFirst()))
        }
        _ = try? BodyCodec.decompress(input, dictionaryVersion: 1)
    }

    private static func record(_ bytes: [UInt8]) throws(FuzzCheckFailure) {
        guard let event = try? EventWireCodec.decode(bytes) else { return }
        guard EventWireCodec.encode(event) == bytes else {
            throw FuzzCheckFailure("EventWireCodec.decode accepted a record that does not re-encode to itself")
        }
        _ = event.hasValidHash
        _ = try? event.payload()
    }

    private static func envelope(_ bytes: [UInt8]) throws(FuzzCheckFailure) {
        guard let hash = try? EventHash(bytes: [UInt8](repeating: 0xAB, count: 32)),
            let event = try? Event(canonicalEnvelope: bytes, body: [0x78, 0xDA], hash: hash, signature: [1, 2, 3])
        else { return }
        let again = try? EventWireCodec.decode(EventWireCodec.encode(event))
        guard again == event else {
            throw FuzzCheckFailure("an envelope Event(canonicalEnvelope:…) accepts does not survive the wire format")
        }
    }

    private static func json(_ bytes: some Collection<UInt8>) throws(FuzzCheckFailure) {
        guard let value = try? JSONParser.parse(bytes) else { return }
        let again = try? JSONParser.parse(CanonicalJSON.encode(value))
        guard again == value else {
            throw FuzzCheckFailure("JSONParser/CanonicalJSON: a parsed value does not survive canonical encoding")
        }
    }

    private static func payload(_ bytes: ArraySlice<UInt8>, as type: EventType) throws(FuzzCheckFailure) {
        try json(bytes)
        guard let payload = try? type.decodePayload(from: bytes) else { return }
        try roundTrip(payload)
    }

    private static func roundTrip<Payload: EventPayload>(_ payload: Payload) throws(FuzzCheckFailure) {
        guard let canonical = try? PayloadCodec.canonicalBytes(of: payload) else {
            throw FuzzCheckFailure("\(Payload.eventType.rawValue): a decoded payload has no canonical bytes")
        }
        guard (try? PayloadCodec.decode(Payload.self, from: canonical)) == payload else {
            throw FuzzCheckFailure(
                "\(Payload.eventType.rawValue): a decoded payload does not decode again from its canonical bytes")
        }
    }
}
