public import ProloDomain

/// What one event contributes to a patient's treatment state: its place in time and the payload fields the
/// projection reads (the rest of the payload, such as names and contact details, stays in the log).
///
/// Facts are kept per patient as a set keyed by event id, so the state derived from them does not depend on
/// the order events arrived in.
public struct ClinicalFact: Sendable, Hashable {
    /// The event id.
    public let id: String
    /// The device that recorded it.
    public let origin: String
    /// Its position in its origin's chain.
    public let originSeq: Int64
    /// The packed hybrid logical clock at recording.
    public let hlc: Int64
    /// Clinical time, ms since the epoch.
    public let occurredAt: Int64
    /// The event type.
    public let type: EventType
    /// The payload fields the projection reads (see `relevantKeys`).
    public let data: JSONValue

    /// Makes a fact from its parts.
    public init(id: String, origin: String, originSeq: Int64, hlc: Int64, occurredAt: Int64, type: EventType, data: JSONValue) {
        self.id = id
        self.origin = origin
        self.originSeq = originSeq
        self.hlc = hlc
        self.occurredAt = occurredAt
        self.type = type
        self.data = data
    }

    /// The fact of an event whose payload is already parsed; an older schema version is upcast first, so the fold
    /// sees only the current shape.
    public init(event: Event, payload: JSONValue) {
        self.init(
            id: event.id.text, origin: event.origin.text, originSeq: event.originSeq, hlc: event.hlc.packed,
            occurredAt: event.occurredAt.millisecondsSinceEpoch, type: event.type,
            data: Self.trim(Self.current(payload, of: event.type, version: event.schemaVersion), for: event.type))
    }

    /// The payload in the current schema version's shape. Events this build cannot read never reach the fold
    /// (`Event.unreadablePayload` holds them), so a refusal here leaves the payload as it is.
    static func current(_ payload: JSONValue, of type: EventType, version: Int) -> JSONValue {
        (try? type.upcast(payload, from: version)) ?? payload
    }

    /// The fact of an event: inflates and parses its body.
    public init(event: Event) throws(ProjectionError) {
        do {
            self.init(event: event, payload: try JSONParser.parse(try event.payloadBytes()))
        } catch {
            throw ProjectionError("event \(event.id) has an unreadable body: \(error)")
        }
    }

    /// Canonical order (DESIGN §3): `(hlc, origin, originSeq)`, the same on every device.
    public static func canonicallyOrdered(_ left: ClinicalFact, _ right: ClinicalFact) -> Bool {
        (left.hlc, left.origin, left.originSeq) < (right.hlc, right.origin, right.originSeq)
    }

    /// Clinical order: by `occurredAt`, ties broken by canonical order.
    public static func clinicallyOrdered(_ left: ClinicalFact, _ right: ClinicalFact) -> Bool {
        left.clinicalPosition < right.clinicalPosition
    }

    /// Where the fact stands in clinical order, as a value a checkpoint keeps.
    var clinicalPosition: ClinicalPosition {
        ClinicalPosition(occurredAt: occurredAt, hlc: hlc, origin: origin, originSeq: originSeq)
    }

    /// The same fact with another payload (an amendment's correction).
    func replacingData(_ data: JSONValue) -> ClinicalFact {
        ClinicalFact(id: id, origin: origin, originSeq: originSeq, hlc: hlc, occurredAt: occurredAt, type: type, data: data)
    }

    /// The payload keys each event type contributes; amendments keep their corrected payload trimmed the same way.
    static let relevantKeys: [EventType: Set<String>] = [
        .consentRecorded: ["status"],
        .examRecorded: ["painNRS", "odi", "redFlags", "neuroScreen", "decision", "bodyWeightKg"],
        .coursePlanned: ["sessions", "interval", "adjunctTherapies"],
        .injectionAdministered: ["immediateReaction", "proliferant", "sites"],
        .sideEffectReported: ["onset", "kinds", "grade", "temperatureC", "relatedInjection", "localSigns"],
        .sideEffectResolved: ["report", "resolvedAt", "outcome"],
        .painReported: ["instrument", "score"],
        .adjunctTherapyRecorded: ["therapy"],
        .sessionScheduled: ["appointmentAt", "purpose"],
        .sessionCancelled: ["session"],
        .alertCleared: ["alertKind", "raisedBy", "clinician", "reason"],
        .courseClosed: ["course", "reason"],
        .eventAmended: ["target", "targetType", "payload"],
        .eventRetracted: ["target", "reason"],
    ]

    /// Within the kept objects, the members the projection reads (free text such as notes and reasons stays out).
    static let relevantMembers: [EventType: [String: Set<String>]] = [
        .examRecorded: [
            "neuroScreen": ["motorNormal", "sensationNormal", "reflexesNormal"], "decision": ["candidate"],
        ],
        .injectionAdministered: ["proliferant": ["lidocaineMgPerMl"], "sites": ["volumeMl"]],
    ]

    static func trim(_ payload: JSONValue, for type: EventType) -> JSONValue {
        guard let keys = relevantKeys[type], let members = payload.objectValue else { return .object([:]) }
        var kept = members.filter { keys.contains($0.key) }
        for (key, inner) in relevantMembers[type] ?? [:] {
            switch kept[key] {
            case .object(let object)?: kept[key] = .object(object.filter { inner.contains($0.key) })
            case .array(let elements)?:
                kept[key] = .array(elements.map { element in
                    element.objectValue.map { .object($0.filter { inner.contains($0.key) }) } ?? element
                })
            default: break
            }
        }
        if type == .eventAmended, let targetName = kept["targetType"]?.stringValue,
            let targetType = EventType(rawValue: targetName), let corrected = kept["payload"]
        {
            kept["payload"] = trim(corrected, for: targetType)
        }
        return .object(kept)
    }
}

/// A projection could not read what it needs; the append or rebuild that hit it is rolled back.
public struct ProjectionError: Error, Sendable, CustomStringConvertible {
    /// What is wrong and where.
    public let message: String

    /// Makes an error.
    public init(_ message: String) { self.message = message }

    /// The message.
    public var description: String { message }
}

/// A fact's place in clinical order (``ClinicalFact/clinicallyOrdered(_:_:)``): `occurredAt`, ties broken by
/// canonical order `(hlc, origin, originSeq)`. A checkpoint keeps its latest fact's, so a fact recorded at the same
/// clinical time (an exam and an injection entered for one visit, a home app's reports of one minute) continues it
/// when it comes after in that order.
struct ClinicalPosition: Sendable, Hashable, Comparable {
    let occurredAt: Int64
    let hlc: Int64
    let origin: String
    let originSeq: Int64

    static func < (left: ClinicalPosition, right: ClinicalPosition) -> Bool {
        (left.occurredAt, left.hlc, left.origin, left.originSeq) < (right.occurredAt, right.hlc, right.origin, right.originSeq)
    }
}
