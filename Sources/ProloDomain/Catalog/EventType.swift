/// Every event type of the v1 clinical catalog (DESIGN §10), named as in the envelope's `type` field.
public enum EventType: String, CaseIterable, Sendable, Codable, Comparable {
    case patientRegistered = "patient.registered"
    case consentRecorded = "consent.recorded"
    case examRecorded = "exam.recorded"
    case coursePlanned = "course.planned"
    case injectionAdministered = "injection.administered"
    case sideEffectReported = "side-effect.reported"
    case sideEffectResolved = "side-effect.resolved"
    case painReported = "pain.reported"
    case adjunctTherapyRecorded = "adjunct-therapy.recorded"
    case sessionScheduled = "session.scheduled"
    case sessionCancelled = "session.cancelled"
    case alertCleared = "alert.cleared"
    case courseClosed = "course.closed"
    case eventAmended = "event.amended"
    case eventRetracted = "event.retracted"
    case deviceEnrolled = "device.enrolled"
    case deviceRevoked = "device.revoked"

    /// The Swift type of this event's current payload.
    public var payloadType: any EventPayload.Type {
        switch self {
        case .patientRegistered: PatientRegistered.self
        case .consentRecorded: ConsentRecorded.self
        case .examRecorded: ExamRecorded.self
        case .coursePlanned: CoursePlanned.self
        case .injectionAdministered: InjectionAdministered.self
        case .sideEffectReported: SideEffectReported.self
        case .sideEffectResolved: SideEffectResolved.self
        case .painReported: PainReported.self
        case .adjunctTherapyRecorded: AdjunctTherapyRecorded.self
        case .sessionScheduled: SessionScheduled.self
        case .sessionCancelled: SessionCancelled.self
        case .alertCleared: AlertCleared.self
        case .courseClosed: CourseClosed.self
        case .eventAmended: EventAmended.self
        case .eventRetracted: EventRetracted.self
        case .deviceEnrolled: DeviceEnrolled.self
        case .deviceRevoked: DeviceRevoked.self
        }
    }

    /// Administrative events (the device registry) concern no patient and carry no personal data.
    public var isAdministrative: Bool {
        self == .deviceEnrolled || self == .deviceRevoked
    }

    /// The schema versions this build can read for this type (older ones are upcast on read).
    public var readableSchemaVersions: ClosedRange<Int> { 1...payloadType.schemaVersion }

    /// Parses a type name, refusing names outside the catalog with the list of known ones.
    public init(checked name: String) throws(PayloadError) {
        guard let type = EventType(rawValue: name) else {
            let known = EventType.allCases.map(\.rawValue).joined(separator: ", ")
            throw PayloadError(.unknownType, path: "type", "unknown event type \"\(name)\"; known types: \(known)")
        }
        self = type
    }

    /// Decodes and validates a payload of this type from JSON bytes.
    public func decodePayload(from bytes: some Collection<UInt8>, schemaVersion: Int? = nil) throws(PayloadError)
        -> any EventPayload
    {
        let version = schemaVersion ?? payloadType.schemaVersion
        guard readableSchemaVersions.contains(version) else {
            throw PayloadError(
                .unknownType, path: "schemaVersion",
                "\(rawValue) schema version \(version) is not known to this build (it reads \(readableSchemaVersions))")
        }
        if version == payloadType.schemaVersion { return try payloadType.decodeErased(from: bytes) }
        let parsed: JSONValue
        do {
            parsed = try JSONParser.parse(bytes)
        } catch {
            throw PayloadError(.malformedJSON, path: "$", error.description)
        }
        return try payloadType.decodeErased(from: try upcast(parsed, from: version))
    }

    /// Decodes and validates a payload of this type from a parsed JSON value.
    public func decodePayload(from value: JSONValue) throws(PayloadError) -> any EventPayload {
        try payloadType.decodeErased(from: value)
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
}

extension EventPayload {
    static func decodeErased(from bytes: some Collection<UInt8>) throws(PayloadError) -> any EventPayload {
        try PayloadCodec.decode(Self.self, from: bytes)
    }

    static func decodeErased(from value: JSONValue) throws(PayloadError) -> any EventPayload {
        try PayloadCodec.decode(Self.self, from: value)
    }
}
