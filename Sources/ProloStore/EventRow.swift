public import ProloDomain

/// One row of the `events` table as any backend stores it (`Schemas/sqlite/0001-event-log.sql`,
/// `Schemas/postgresql/0001-event-log.sql`: the same columns, the body the same bytes), before it is trusted.
///
/// A backend reads the columns into this value and ``decoded()`` turns them into an event, so the rule that says
/// which rows are well formed lives once. The values are unchecked: a tampered or damaged row decodes with an
/// error that names its `seq`.
public struct EventRow: Sendable {
    public var seq: Int64
    public var id: String
    public var origin: String
    public var originSeq: Int64
    public var patient: String?
    public var type: String
    public var schemaVersion: Int64
    public var hlc: Int64
    public var occurredAt: String
    public var receivedAt: Int64
    public var authorID: String
    public var authorRole: String
    public var prev: [UInt8]?
    public var patientPrev: [UInt8]?
    public var dictionary: Int64
    public var body: [UInt8]
    public var hash: [UInt8]
    public var signature: [UInt8]

    public init(
        seq: Int64, id: String, origin: String, originSeq: Int64, patient: String?, type: String, schemaVersion: Int64,
        hlc: Int64, occurredAt: String, receivedAt: Int64, authorID: String, authorRole: String, prev: [UInt8]?,
        patientPrev: [UInt8]?, dictionary: Int64, body: [UInt8], hash: [UInt8], signature: [UInt8]
    ) {
        self.seq = seq
        self.id = id
        self.origin = origin
        self.originSeq = originSeq
        self.patient = patient
        self.type = type
        self.schemaVersion = schemaVersion
        self.hlc = hlc
        self.occurredAt = occurredAt
        self.receivedAt = receivedAt
        self.authorID = authorID
        self.authorRole = authorRole
        self.prev = prev
        self.patientPrev = patientPrev
        self.dictionary = dictionary
        self.body = body
        self.hash = hash
        self.signature = signature
    }

    /// The row of `stored`, as a backend writes it (`occurred_ms` is derived from ``Event/occurredAt``).
    public init(_ stored: StoredEvent) {
        let event = stored.event
        self.init(
            seq: stored.seq, id: event.id.text, origin: event.origin.text, originSeq: event.originSeq,
            patient: event.patient?.text, type: event.type.rawValue, schemaVersion: Int64(event.schemaVersion),
            hlc: event.hlc.packed, occurredAt: event.occurredAt.text, receivedAt: stored.receivedAt.millisecondsSinceEpoch,
            authorID: event.author.id.text, authorRole: event.author.role.rawValue, prev: event.prev?.bytes,
            patientPrev: event.patientPrev?.bytes, dictionary: Int64(event.dictionary), body: event.body,
            hash: event.hash.bytes, signature: event.signature)
    }

    /// The stored event, or an `io-error` naming the row's `seq` and the column that does not decode.
    public func decoded() throws(StoreError) -> StoredEvent {
        do throws(PayloadError) {
            guard let type = EventType(rawValue: type), let role = Author.Role(rawValue: authorRole) else {
                throw PayloadError(path: "type", "unknown event type \(type) or author role \(authorRole)")
            }
            let event = Event(
                id: try EventID(checked: id),
                origin: try Identifier(checked: origin),
                originSeq: originSeq,
                prev: try prev.map { bytes throws(PayloadError) in try EventHash(bytes: bytes) },
                patientPrev: try patientPrev.map { bytes throws(PayloadError) in try EventHash(bytes: bytes) },
                hlc: HLC(packed: hlc),
                occurredAt: try Timestamp(checked: occurredAt),
                patient: try patient.map { text throws(PayloadError) in try PatientID(checked: text) },
                type: type,
                schemaVersion: Int(schemaVersion),
                author: Author(id: try Identifier(checked: authorID), role: role),
                dictionary: Int(dictionary),
                body: body,
                hash: try EventHash(bytes: hash),
                signature: signature)
            return StoredEvent(seq: seq, receivedAt: Timestamp(millisecondsSinceEpoch: receivedAt), event: event)
        } catch {
            throw StoreError(
                .ioError, "stored event at seq \(seq) is damaged: \(error.path): \(error.message)", offset: .log(seq))
        }
    }
}
