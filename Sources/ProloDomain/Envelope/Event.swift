import Crypto
import Foundation

/// One immutable, signed clinical or administrative fact: the envelope of DESIGN §3 and its compressed body.
///
/// `hash` = SHA-256(canonical envelope ‖ `\n` ‖ stored body bytes); `signature` = Ed25519(`hash`) by the
/// origin device. The body bytes are made once at the origin and never re-encoded, so every replica
/// verifies the same bytes. Specification: `Schemas/envelope.md`.
public struct Event: Sendable, Hashable {
    /// Global identity and idempotency key (UUID v7).
    public let id: EventID
    /// The device that recorded it (see ``DevicePublicKey/origin``).
    public let origin: Identifier
    /// 1-based, gapless counter of events recorded on ``origin``.
    public let originSeq: Int64
    /// Hash of the previous event of the same origin; `nil` for the first.
    public let prev: EventHash?
    /// Hash of the previous event of the same origin for the same patient; `nil` for the first (and for administrative events).
    public let patientPrev: EventHash?
    /// Hybrid logical clock at recording.
    public let hlc: HLC
    /// Clinical time, entered by a person.
    public let occurredAt: Timestamp
    /// The patient the event is about; `nil` for administrative events.
    public let patient: PatientID?
    /// The event type.
    public let type: EventType
    /// The payload's schema version.
    public let schemaVersion: Int
    /// Who recorded it.
    public let author: Author
    /// Version of the compression dictionary of ``body``.
    public let dictionary: Int
    /// The zlib-compressed canonical JSON payload, exactly as stored and signed.
    public let body: [UInt8]
    /// SHA-256 over the canonical envelope and ``body``.
    public let hash: EventHash
    /// Ed25519 signature of ``hash`` by the origin's key.
    public let signature: [UInt8]

    /// Reassembles an event from stored or received fields; nothing is checked (see ``verify(publicKey:)``).
    public init(
        id: EventID, origin: Identifier, originSeq: Int64, prev: EventHash?, patientPrev: EventHash?, hlc: HLC,
        occurredAt: Timestamp, patient: PatientID?, type: EventType, schemaVersion: Int, author: Author,
        dictionary: Int, body: [UInt8], hash: EventHash, signature: [UInt8]
    ) {
        self.id = id
        self.origin = origin
        self.originSeq = originSeq
        self.prev = prev
        self.patientPrev = patientPrev
        self.hlc = hlc
        self.occurredAt = occurredAt
        self.patient = patient
        self.type = type
        self.schemaVersion = schemaVersion
        self.author = author
        self.dictionary = dictionary
        self.body = body
        self.hash = hash
        self.signature = signature
    }

    /// The canonical envelope bytes: every field but `body`, `hash` and `signature`, as canonical JSON.
    public var canonicalEnvelope: [UInt8] {
        Self.canonicalEnvelope(
            id: id, origin: origin, originSeq: originSeq, prev: prev, patientPrev: patientPrev, hlc: hlc,
            occurredAt: occurredAt, patient: patient, type: type, schemaVersion: schemaVersion, author: author,
            dictionary: dictionary)
    }

    static func canonicalEnvelope(
        id: EventID, origin: Identifier, originSeq: Int64, prev: EventHash?, patientPrev: EventHash?, hlc: HLC,
        occurredAt: Timestamp, patient: PatientID?, type: EventType, schemaVersion: Int, author: Author,
        dictionary: Int
    ) -> [UInt8] {
        // The twelve keys in canonical (UTF-8 byte) order, written directly: this runs once per event recorded
        // and once per event verified, so it avoids building a JSON tree. `envelopeMatchesGenericEncoder` in the
        // tests checks it against CanonicalJSON.
        var writer = CanonicalJSON.Writer(capacity: 400)
        writer.raw("{\"author\":{\"id\":")
        writer.string(author.id.text)
        writer.raw(",\"role\":")
        writer.string(author.role.rawValue)
        writer.raw("},\"dict\":")
        writer.integer(Int64(dictionary))
        writer.raw(",\"hlc\":")
        writer.string(hlc.description)
        writer.raw(",\"id\":")
        writer.string(id.text)
        writer.raw(",\"occurredAt\":")
        writer.string(occurredAt.text)
        writer.raw(",\"origin\":")
        writer.string(origin.text)
        writer.raw(",\"originSeq\":")
        writer.integer(originSeq)
        writer.raw(",\"patient\":")
        writer.optionalString(patient?.text)
        writer.raw(",\"patientPrev\":")
        writer.optionalString(patientPrev?.hex)
        writer.raw(",\"prev\":")
        writer.optionalString(prev?.hex)
        writer.raw(",\"schemaVersion\":")
        writer.integer(Int64(schemaVersion))
        writer.raw(",\"type\":")
        writer.string(type.rawValue)
        writer.raw("}")
        return writer.bytes
    }

    /// SHA-256(envelope ‖ 0x0A ‖ body). The newline cannot occur in canonical JSON, so the split is unambiguous.
    public static func computeHash(envelope: [UInt8], body: [UInt8]) -> EventHash {
        var hasher = SHA256()
        hasher.update(data: envelope)
        hasher.update(data: [0x0A])
        hasher.update(data: body)
        return EventHash(digest: hasher.finalize())
    }

    /// Whether ``hash`` matches the envelope and body.
    public var hasValidHash: Bool {
        Self.computeHash(envelope: canonicalEnvelope, body: body) == hash
    }

    /// Checks the hash and the signature against the origin's public key.
    public func verify(publicKey: DevicePublicKey) throws(EventVerificationError) {
        guard publicKey.origin == origin else {
            throw EventVerificationError(event: id, .wrongKey, "origin \(origin) is not the key \(publicKey.base64)")
        }
        guard hasValidHash else {
            throw EventVerificationError(event: id, .badHash, "hash does not match the envelope and body")
        }
        guard publicKey.isValidSignature(signature, for: hash.bytes) else {
            throw EventVerificationError(event: id, .badSignature, "signature does not verify with the origin's key")
        }
    }

    /// The canonical JSON payload, inflated from ``body``.
    public func payloadBytes() throws(BodyCodecError) -> [UInt8] {
        try BodyCodec.decompress(body, dictionaryVersion: dictionary)
    }

    /// The payload decoded into its catalog type.
    public func payload() throws(EventDecodingError) -> any EventPayload {
        let bytes: [UInt8]
        do {
            bytes = try payloadBytes()
        } catch {
            throw EventDecodingError(event: id, message: error.description)
        }
        do {
            return try type.decodePayload(from: bytes, schemaVersion: schemaVersion)
        } catch {
            throw EventDecodingError(event: id, message: error.description)
        }
    }
}

/// An event whose hash or signature does not hold.
public struct EventVerificationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What failed.
    public enum Code: String, Sendable {
        case badHash = "bad-hash"
        case badSignature = "bad-signature"
        case wrongKey = "wrong-key"
        case brokenChain = "broken-chain"
    }

    /// The event at fault.
    public let event: EventID
    /// What failed.
    public let code: Code
    /// Details.
    public let message: String

    /// Makes an error.
    public init(event: EventID, _ code: Code, _ message: String) {
        self.event = event
        self.code = code
        self.message = message
    }

    public var description: String { "event \(event): \(message)" }
}

/// A stored event whose body cannot be inflated or decoded.
public struct EventDecodingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The event at fault.
    public let event: EventID
    /// What is wrong.
    public let message: String

    public var description: String { "event \(event): \(message)" }
}
