/// An event as a person or program states it, before the device chains, compresses and signs it.
public struct EventDraft: Sendable, Hashable {
    /// The event type.
    public let type: EventType
    /// The payload's schema version.
    public let schemaVersion: Int
    /// The patient; `nil` exactly for administrative events.
    public let patient: PatientID?
    /// Clinical time.
    public let occurredAt: Timestamp
    /// Who records it.
    public let author: Author
    /// The canonical JSON payload.
    public let payloadBytes: [UInt8]

    /// A draft from a typed payload.
    public init<Payload: EventPayload>(
        _ payload: Payload, patient: PatientID?, occurredAt: Timestamp, author: Author
    ) throws(PayloadError) {
        try payload.validate()
        try self.init(
            type: Payload.eventType, schemaVersion: Payload.schemaVersion, patient: patient, occurredAt: occurredAt,
            author: author, canonicalPayload: try PayloadCodec.canonicalBytes(of: payload))
    }

    /// A draft from JSON text of a payload: parsed strictly, validated against the type's schema, and made canonical.
    public init(
        type: EventType, json: some Collection<UInt8>, patient: PatientID?, occurredAt: Timestamp, author: Author
    ) throws(PayloadError) {
        let payload = try type.decodePayload(from: json)
        try self.init(
            type: type, schemaVersion: type.payloadType.schemaVersion, patient: patient, occurredAt: occurredAt,
            author: author, canonicalPayload: try Self.canonicalBytes(of: payload))
    }

    /// A draft of an older schema `version` (a device whose catalog is older, or a published v1 test vector):
    /// validated as that version reads it, and stored as given, made canonical, never upcast.
    public init(
        type: EventType, json: some Collection<UInt8>, schemaVersion: Int, patient: PatientID?, occurredAt: Timestamp,
        author: Author
    ) throws(PayloadError) {
        _ = try type.decodePayload(from: json, schemaVersion: schemaVersion)
        let parsed: JSONValue
        do {
            parsed = try JSONParser.parse(json)
        } catch {
            throw PayloadError(.malformedJSON, path: "$", error.description)
        }
        try self.init(
            type: type, schemaVersion: schemaVersion, patient: patient, occurredAt: occurredAt, author: author,
            canonicalPayload: CanonicalJSON.encode(parsed))
    }

    private static func canonicalBytes(of payload: some EventPayload) throws(PayloadError) -> [UInt8] {
        try PayloadCodec.canonicalBytes(of: payload)
    }

    private init(
        type: EventType, schemaVersion: Int, patient: PatientID?, occurredAt: Timestamp, author: Author,
        canonicalPayload: [UInt8]
    ) throws(PayloadError) {
        if type.isAdministrative, patient != nil {
            throw PayloadError(path: "patient", "\(type.rawValue) is administrative and concerns no patient")
        }
        if !type.isAdministrative, patient == nil {
            throw PayloadError(path: "patient", "\(type.rawValue) must name the patient it is about")
        }
        self.type = type
        self.schemaVersion = schemaVersion
        self.patient = patient
        self.occurredAt = occurredAt
        self.author = author
        self.payloadBytes = canonicalPayload
    }

    /// Compresses the payload with the current dictionary (safe to run on any thread).
    public func compressed(with dictionary: CompressionDictionary = .current) throws(BodyCodecError) -> CompressedDraft {
        CompressedDraft(draft: self, dictionary: dictionary.version, body: try BodyCodec.compress(payloadBytes, dictionary: dictionary))
    }
}

/// A draft with its body compressed, ready to be chained.
public struct CompressedDraft: Sendable, Hashable {
    /// The draft.
    public let draft: EventDraft
    /// The dictionary version used.
    public let dictionary: Int
    /// The compressed body.
    public let body: [UInt8]
}
