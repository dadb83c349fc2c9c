import ProloDomain
import ProloSync

/// One input decoded as a sync batch (`u32 count`, `u32 inflated length`, zlib of `u32 length` + record …) twice:
/// 1. as is, with `SyncWire.decodeBatch`; mutations mostly break the zlib stream, as damage in transit would;
/// 2. deflated by the harness: bytes 0–3 are the record count and the rest is the *raw* framed records, which the
///    harness compresses and prefixes with their length. That lets mutations of the framing, the count and the
///    records themselves reach the code behind zlib. Tools/fuzz-seeds.py writes seeds in this form too ("*.raw").
///
/// Every record a batch yields goes through `EventWireCodec.decode` (payloads are the event target's job); a record
/// that decodes must re-encode to the same bytes.
enum BatchDecoderCheck {
    static func run(_ input: [UInt8]) throws(FuzzCheckFailure) {
        try decode(input)
        if let deflated = deflated(input) { try decode(deflated) }
    }

    private static func decode(_ bytes: [UInt8]) throws(FuzzCheckFailure) {
        guard let records = try? SyncWire.decodeBatch(bytes) else { return }
        for record in records {
            guard let event = try? EventWireCodec.decode(record) else { continue }
            guard EventWireCodec.encode(event) == record else {
                throw FuzzCheckFailure("EventWireCodec.decode accepted a record of a batch that does not re-encode")
            }
        }
    }

    /// `count ‖ raw` as a batch: `count ‖ u32(raw.count) ‖ zlib(raw)`; nil for inputs shorter than the count.
    private static func deflated(_ input: [UInt8]) -> [UInt8]? {
        guard input.count >= 4 else { return nil }
        let raw = Array(input[4...])
        guard let compressed = try? BodyCodec.compress(raw, dictionary: .none) else { return nil }
        let length = UInt32(raw.count)
        return Array(input[0..<4])
            + [UInt8(length >> 24), UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF)]
            + compressed
    }
}
