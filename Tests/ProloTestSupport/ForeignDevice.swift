import Foundation
import ProloDomain

/// A device built from `Schemas/envelope.md` alone, as a home app in another language would be: it chains,
/// hashes and signs whatever body it is given, with no catalog to check it. Tests use it to deliver validly
/// signed events whose payloads break their schema, do not inflate, or carry a schema version this build
/// does not know.
public struct ForeignDevice {
    /// What goes into the body.
    public enum Body {
        /// JSON text, compressed with the current dictionary as a well-behaved device would.
        case json(String)
        /// Bytes stored as the body exactly as given (for example, bytes that do not inflate).
        case raw([UInt8])
    }

    /// The device's key; its origin is the events' origin.
    public let key: DeviceKey
    /// The last `originSeq` sealed.
    public private(set) var lastSeq: Int64 = 0
    private var lastHash: EventHash?
    private var patientHeads: [PatientID: EventHash] = [:]
    private var lastWall: Int64 = 0

    public init(key: DeviceKey = DeviceKey()) {
        self.key = key
    }

    /// Seals the next event of this device's chain.
    /// - Parameters:
    ///   - wallMilliseconds: the device's wall clock for the HLC (its own, possibly skewed); now by default.
    ///   - patientPrev: the `patientPrev` to sign instead of the right one (a buggy device's); `nil` signs the right one.
    public mutating func seal(
        _ type: EventType, schemaVersion: Int = 1, patient: PatientID?, body: Body,
        occurredAt: Timestamp = .now(), wallMilliseconds: Int64? = nil, author: Author = Fixtures.clinician,
        patientPrev wrongLink: EventHash?? = nil
    ) throws -> Event {
        let bytes: [UInt8]
        switch body {
        case .json(let text): bytes = try BodyCodec.compress(Array(text.utf8))
        case .raw(let raw): bytes = raw
        }
        let wall = max(wallMilliseconds ?? Int64(Date().timeIntervalSince1970 * 1000), lastWall + 1)
        lastWall = wall
        let hlc = HLC(wallMilliseconds: wall, counter: 0)
        let patientPrev = wrongLink ?? patient.flatMap { patientHeads[$0] }
        // The envelope is hashed without the hash and signature, so a placeholder event yields its bytes.
        let unsigned = Event(
            id: UUIDv7.make(milliseconds: wall), origin: key.publicKey.origin, originSeq: lastSeq + 1, prev: lastHash,
            patientPrev: patientPrev, hlc: hlc, occurredAt: occurredAt, patient: patient, type: type,
            schemaVersion: schemaVersion, author: author, dictionary: CompressionDictionary.current.version, body: bytes,
            hash: try EventHash(bytes: [UInt8](repeating: 0, count: 32)), signature: [])
        let hash = Event.computeHash(envelope: unsigned.canonicalEnvelope, body: bytes)
        let event = Event(
            id: unsigned.id, origin: unsigned.origin, originSeq: unsigned.originSeq, prev: unsigned.prev,
            patientPrev: patientPrev, hlc: hlc, occurredAt: occurredAt, patient: patient, type: type,
            schemaVersion: schemaVersion, author: author, dictionary: unsigned.dictionary, body: bytes, hash: hash,
            signature: try key.signature(for: hash.bytes))
        lastSeq += 1
        lastHash = hash
        if let patient { patientHeads[patient] = hash }
        return event
    }

    /// A valid NRS pain report by the patient.
    public mutating func painReport(
        _ patient: PatientID, score: Int, schemaVersion: Int = 1, patientPrev wrongLink: EventHash?? = nil
    ) throws -> Event {
        try seal(
            .painReported, schemaVersion: schemaVersion, patient: patient,
            body: .json(#"{"instrument":"nrs","reporter":{"id":"\#(patient)","role":"patient"},"score":\#(score)}"#),
            author: Author(id: patient, role: .patient), patientPrev: wrongLink)
    }
}
