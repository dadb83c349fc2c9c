/// The binary form of a signed event, as it travels in bundles and sync batches and waits in quarantine.
///
/// Layout (big-endian): `u8 version (1)`, `u32 envelope length`, the canonical envelope bytes exactly as
/// hashed, `u32 body length`, the stored body bytes, 32 bytes of hash, `u8 signature length`, the signature.
/// Nothing is re-encoded on the way: the receiver parses the envelope, checks that it is canonical, and
/// re-verifies the hash over the very bytes the origin hashed.
public enum EventWireCodec {
    /// The only version this build writes and reads.
    public static let version: UInt8 = 1
    /// The largest envelope or body accepted (a body inflates to at most 1 MiB; compressed it is smaller).
    public static let maximumPartBytes = 1 << 20
    /// No record is shorter: version, the two lengths, the hash and the signature length, with everything else
    /// empty (which ``decode(_:)`` still refuses). Batch and bundle readers refuse shorter records, so a declared
    /// record count is bounded by the bytes that carry it.
    public static let minimumRecordBytes = 1 + 4 + 4 + 32 + 1

    /// Encodes an event.
    public static func encode(_ event: Event) -> [UInt8] {
        let envelope = event.canonicalEnvelope
        var bytes: [UInt8] = []
        bytes.reserveCapacity(envelope.count + event.body.count + 110)
        bytes.append(version)
        appendLength(envelope.count, to: &bytes)
        bytes.append(contentsOf: envelope)
        appendLength(event.body.count, to: &bytes)
        bytes.append(contentsOf: event.body)
        bytes.append(contentsOf: event.hash.bytes)
        bytes.append(UInt8(event.signature.count))
        bytes.append(contentsOf: event.signature)
        return bytes
    }

    /// Decodes an event, refusing anything malformed, non-canonical or with trailing bytes.
    ///
    /// The hash and signature are not checked here: see ``Event/verify(publicKey:)``.
    public static func decode(_ bytes: [UInt8]) throws(EventWireError) -> Event {
        var reader = Reader(bytes: bytes)
        guard let version = reader.byte() else { throw EventWireError("empty event record") }
        guard version == Self.version else {
            throw EventWireError("event record version \(version) is not supported (this build reads \(Self.version))")
        }
        let envelope = try reader.part("envelope")
        let body = try reader.part("body")
        guard let hashBytes = reader.take(32) else { throw EventWireError("event record ends inside the hash") }
        guard let signatureLength = reader.byte(), let signature = reader.take(Int(signatureLength)) else {
            throw EventWireError("event record ends inside the signature")
        }
        guard reader.isAtEnd else { throw EventWireError("\(reader.remaining) bytes after the event record") }
        do {
            let event = try Event(canonicalEnvelope: envelope, body: body, hash: try EventHash(bytes: hashBytes),
                signature: signature)
            return event
        } catch {
            throw EventWireError("event envelope: \(error.path): \(error.message)")
        }
    }

    private static func appendLength(_ length: Int, to bytes: inout [UInt8]) {
        let value = UInt32(length)
        bytes.append(contentsOf: [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)])
    }

    private struct Reader {
        let bytes: [UInt8]
        var position = 0

        var isAtEnd: Bool { position == bytes.count }
        var remaining: Int { bytes.count - position }

        mutating func byte() -> UInt8? {
            guard position < bytes.count else { return nil }
            defer { position += 1 }
            return bytes[position]
        }

        mutating func take(_ count: Int) -> [UInt8]? {
            guard count >= 0, remaining >= count else { return nil }
            defer { position += count }
            return Array(bytes[position..<position + count])
        }

        mutating func part(_ name: String) throws(EventWireError) -> [UInt8] {
            guard let length = take(4) else { throw EventWireError("event record ends before the \(name) length") }
            let count = length.reduce(0) { $0 << 8 | Int($1) }
            guard count <= EventWireCodec.maximumPartBytes else {
                throw EventWireError("\(name) of \(count) bytes exceeds the \(EventWireCodec.maximumPartBytes)-byte limit")
            }
            guard let part = take(count) else { throw EventWireError("event record ends inside the \(name)") }
            return part
        }
    }
}

/// A binary event record that cannot be decoded.
public struct EventWireError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What is wrong.
    public let message: String

    init(_ message: String) { self.message = message }

    public var description: String { message }
}

extension Event {
    /// Rebuilds an event from its canonical envelope bytes, refusing envelopes that are not canonical.
    public init(canonicalEnvelope envelope: [UInt8], body: [UInt8], hash: EventHash, signature: [UInt8])
        throws(PayloadError)
    {
        let value: JSONValue
        do {
            value = try JSONParser.parse(envelope)
        } catch {
            throw PayloadError(path: "envelope", "not JSON: \(error)")
        }
        guard let members = value.objectValue, members.count == 12 else {
            throw PayloadError(path: "envelope", "an envelope is an object of exactly 12 fields")
        }
        func text(_ key: String) throws(PayloadError) -> String {
            guard let text = members[key]?.stringValue else { throw PayloadError(path: key, "missing or not a string") }
            return text
        }
        func optionalText(_ key: String) throws(PayloadError) -> String? {
            if members[key] == .null { return nil }
            return try text(key)
        }
        func integer(_ key: String) throws(PayloadError) -> Int64 {
            guard case .int(let value)? = members[key] else { throw PayloadError(path: key, "missing or not an integer") }
            return value
        }
        guard let author = members["author"]?.objectValue, let authorID = author["id"]?.stringValue,
            let roleText = author["role"]?.stringValue, let role = Author.Role(rawValue: roleText), author.count == 2
        else { throw PayloadError(path: "author", "an author is {id, role}") }
        guard let type = EventType(rawValue: try text("type")) else {
            throw PayloadError(path: "type", "unknown event type \(try text("type"))")
        }
        let originSeq = try integer("originSeq")
        guard originSeq >= 1 else { throw PayloadError(path: "originSeq", "must be 1 or more") }
        self.init(
            id: try EventID(checked: try text("id")),
            origin: try Identifier(checked: try text("origin")),
            originSeq: originSeq,
            prev: try optionalText("prev").map { hex throws(PayloadError) in try EventHash(hex: hex) },
            patientPrev: try optionalText("patientPrev").map { hex throws(PayloadError) in try EventHash(hex: hex) },
            hlc: try HLC(checked: try text("hlc")),
            occurredAt: try Timestamp(checked: try text("occurredAt")),
            patient: try optionalText("patient").map { id throws(PayloadError) in try PatientID(checked: id) },
            type: type,
            schemaVersion: Int(try integer("schemaVersion")),
            author: Author(id: try Identifier(checked: authorID), role: role),
            dictionary: Int(try integer("dict")),
            body: body,
            hash: hash,
            signature: signature)
        guard canonicalEnvelope == envelope else {
            throw PayloadError(path: "envelope", "the envelope is not in canonical form")
        }
    }
}
