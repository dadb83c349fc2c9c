import ProloDomain
import ProloProjections
import ProloStore

/// One patient's events as the export reads them: in canonical order, with their payloads in the current schema
/// shape, and the corrections resolved the way the treatment fold resolves them.
///
/// - A retraction takes effect unless it is itself retracted (a retraction of a retraction restores its target).
/// - An amendment takes effect unless retracted; with several, the last in canonical order gives the content and
///   each counts as one version.
struct PatientEvents {
    /// One event and its payload; `payload` is `nil` for an event this build cannot read (held, DESIGN §6).
    struct Entry {
        let stored: StoredEvent
        /// The payload as stored (before any upcast), parsed; the treatment fold takes it as it is.
        let json: JSONValue?
        /// The payload in the current schema version's shape, decoded and validated.
        let payload: (any EventPayload)?
        var event: Event { stored.event }
        var id: String { stored.event.id.text }
    }

    let patient: PatientID
    /// The patient's events and the administrative events about the patient's home devices, canonical order.
    let entries: [Entry]
    /// Ids of events whose retraction is in effect.
    let retracted: Set<String>
    /// The first retraction in effect of each retracted event, by target id.
    let retractions: [String: Entry]
    /// Amendments in effect, by target id, in canonical order.
    let amendments: [String: [Entry]]

    init(patient: PatientID, events: [StoredEvent]) {
        // Each body is inflated and parsed once, for the resources and for the fold alike.
        let entries = events.sorted(by: Self.canonicallyOrdered).map { stored in
            let event = stored.event
            let json = try? JSONParser.parse(try event.payloadBytes())
            let payload = json.flatMap {
                try? event.type.decodePayload(from: event.type.upcast($0, from: event.schemaVersion))
            }
            return Entry(stored: stored, json: json, payload: payload)
        }
        self.init(patient: patient, entries: entries)
    }

    /// The record of entries already parsed and in canonical order (a prefix of the log, for the history).
    init(patient: PatientID, entries: [Entry]) {
        self.patient = patient
        self.entries = entries
        var targets: [String: [String]] = [:]
        for entry in entries {
            if let retraction = entry.payload as? EventRetracted {
                targets[retraction.target.text, default: []].append(entry.id)
            }
        }
        var memo: [String: Bool] = [:]
        func isRetracted(_ id: String, depth: Int) -> Bool {
            if let known = memo[id] { return known }
            guard depth < 64 else { return false }
            let answer = (targets[id] ?? []).contains { !isRetracted($0, depth: depth + 1) }
            memo[id] = answer
            return answer
        }
        retracted = Set(entries.map(\.id).filter { isRetracted($0, depth: 0) })
        var retractions: [String: Entry] = [:]
        for entry in entries where !retracted.contains(entry.id) {
            if let retraction = entry.payload as? EventRetracted, retractions[retraction.target.text] == nil {
                retractions[retraction.target.text] = entry
            }
        }
        self.retractions = retractions
        var amendments: [String: [Entry]] = [:]
        for entry in entries where !retracted.contains(entry.id) {
            if let amendment = entry.payload as? EventAmended {
                amendments[amendment.target.text, default: []].append(entry)
            }
        }
        self.amendments = amendments
    }

    /// The patient's events, read from `store`, and the administrative events about their home devices.
    static func load(_ patient: PatientID, from store: EventStore, devices: ClinicDevices) throws(StoreError)
        -> PatientEvents
    {
        let events = try store.events(EventFilter(patient: patient)) + devices.events(about: patient)
        return PatientEvents(patient: patient, events: events)
    }

    /// The treatment state, folded from the payloads already parsed; an event this build cannot read stays out, as
    /// in the read models.
    func treatmentState(policy: TreatmentPolicy) -> TreatmentState {
        var facts = PatientFacts(patient: patient)
        for entry in entries where entry.event.patient == patient && entry.payload != nil {
            if let json = entry.json { facts.insert(ClinicalFact(event: entry.event, payload: json)) }
        }
        return TreatmentFold.state(of: facts, policy: policy)
    }

    /// The content an event stands for now: its last amendment's corrected payload, or its own.
    func effectivePayload(of entry: Entry) -> (any EventPayload)? {
        if let last = amendments[entry.id]?.last, let amendment = last.payload as? EventAmended,
            let corrected = try? amendment.correctedPayload(), type(of: corrected).eventType == entry.event.type
        {
            return corrected
        }
        return entry.payload
    }

    /// The amendments in effect for an event.
    func amendmentsOf(_ id: String) -> [Entry] { amendments[id] ?? [] }

    /// Canonical order (DESIGN §3): `(hlc, origin, originSeq)`, ties by id.
    static func canonicallyOrdered(_ left: StoredEvent, _ right: StoredEvent) -> Bool {
        let (a, b) = (left.event, right.event)
        return (a.hlc.packed, a.origin.text, a.originSeq, a.id.text) < (
            b.hlc.packed, b.origin.text, b.originSeq, b.id.text
        )
    }
}
