import ProloDomain
import ProloProjections
import ProloStore

/// Turns one patient's events into the FHIR resources of their record (MAPPING.md), in a stable order: the Patient,
/// the resources of each event in canonical order, the alerts, the Devices, then one Provenance per event.
///
/// Pure: events, registry and treatment state in, resources out; the same input gives the same resources.
struct PatientBundleBuilder {
    let events: PatientEvents
    let registry: DeviceRegistry
    let state: TreatmentState
    private(set) var resources: [FHIRResource] = []
    private var positions: [String: Int] = [:]
    /// The resources each event made or changed, as `Type/id`.
    var targets: [String: [String]] = [:]
    /// Events by id.
    let entries: [String: PatientEvents.Entry]
    /// The Patient's `Type/id`.
    var patientKey = ""
    /// Courses in effect, by clinical time: an injection or adjunct therapy is based on the latest planned before it.
    let courses: [(id: String, occurredAt: Int64)]
    /// Consents in effect: the event, its clinical time, its canonical position.
    var consents: [(entry: PatientEvents.Entry, occurredAt: Int64, position: Int)] = []

    init(events: PatientEvents, registry: DeviceRegistry, policy: TreatmentPolicy) {
        self.events = events
        self.registry = registry
        self.entries = Dictionary(events.entries.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        courses = events.entries.filter {
            !events.retracted.contains($0.id) && events.effectivePayload(of: $0) is CoursePlanned
        }
        .map { (id: $0.id, occurredAt: $0.event.occurredAt.millisecondsSinceEpoch) }
        state = events.treatmentState(policy: policy)
    }

    /// Every resource of the record, Provenances last.
    mutating func build() -> [FHIRResource] {
        addPatient()
        for (position, entry) in events.entries.enumerated() { addResources(of: entry, position: position) }
        for entry in events.entries { applyChange(entry) }
        settleConsents()
        addAlerts()
        addDevices()
        addProvenances()
        return resources
    }

    // MARK: Bookkeeping

    /// The Patient as a reference.
    var patientReference: JSONValue { FHIRElement.reference(patientKey) }

    /// Whether a retraction of the event is in effect.
    func isRetracted(_ entry: PatientEvents.Entry) -> Bool { events.retracted.contains(entry.id) }

    /// Adds a resource made from `entry`: one version per amendment in effect and one for a retraction in effect
    /// (its entered-in-error version), last updated by the latest of them.
    mutating func emit(_ type: String, _ id: String, _ body: FHIRObject, from entry: PatientEvents.Entry) {
        var resource = FHIRResource(type: type, id: id, body: body, lastUpdated: entry.event.hlc)
        for amendment in events.amendmentsOf(entry.id) { resource.changed(by: amendment.event) }
        if let retraction = events.retractions[entry.id] { resource.changed(by: retraction.event) }
        add(resource, for: entry.id)
    }

    /// Adds a resource and counts it among what `event` made.
    mutating func add(_ resource: FHIRResource, for event: String?) {
        positions[resource.key] = resources.count
        resources.append(resource)
        if let event { targets[event, default: []].append(resource.key) }
    }

    /// Changes a resource already added, on behalf of `entry`, as a new version; a resource entered in error is left
    /// as it is. `counted`: the change is among what the event's Provenance names (a consent superseding another
    /// changes it only as a consequence). Returns whether the resource is there.
    @discardableResult
    mutating func change(
        _ key: String, by entry: PatientEvents.Entry, counted: Bool = true, _ body: (inout FHIRObject) -> Void
    ) -> Bool {
        guard let position = positions[key] else { return false }
        if counted { targets[entry.id, default: []].append(key) }
        guard !isRetracted(entry), resources[position].body["status"]?.stringValue != "entered-in-error" else {
            return true
        }
        body(&resources[position].body)
        resources[position].changed(by: entry.event)
        return true
    }

    /// A resource already added, by `Type/id`.
    func resource(_ key: String) -> FHIRResource? { positions[key].map { resources[$0] } }

    /// Whether the Bundle holds `key`.
    func holds(_ key: String) -> Bool { positions[key] != nil }

    /// A reference to the first resource `event` made, or a logical reference to the event when the Bundle holds
    /// none (it was retracted and its type has no `entered-in-error`, or it is not this patient's).
    func reference(toEventResource event: String, type: String) -> JSONValue {
        if let key = targets[event]?.first(where: { $0.hasPrefix(type + "/") }) { return FHIRElement.reference(key) }
        return FHIRElement.logical(type, system: "event", value: event)
    }

    /// The status of a resource whose R4 status has `entered-in-error`.
    func status(_ entry: PatientEvents.Entry, otherwise status: String) -> JSONValue {
        .string(isRetracted(entry) ? "entered-in-error" : status)
    }

    // MARK: Events to resources

    private mutating func addResources(of entry: PatientEvents.Entry, position: Int) {
        guard let payload = events.effectivePayload(of: entry) else { return }
        switch payload {
        case let consent as ConsentRecorded: addConsent(consent, from: entry, position: position)
        case let exam as ExamRecorded: addExam(exam, from: entry)
        case let course as CoursePlanned: addCourse(course, from: entry)
        case let injection as InjectionAdministered: addInjection(injection, from: entry)
        case let report as SideEffectReported: addSideEffect(report, from: entry)
        case let pain as PainReported: addPain(pain, from: entry)
        case let therapy as AdjunctTherapyRecorded: addAdjunctTherapy(therapy, from: entry)
        case let session as SessionScheduled: addAppointment(session, from: entry)
        default: break
        }
    }

    private mutating func applyChange(_ entry: PatientEvents.Entry) {
        guard let payload = events.effectivePayload(of: entry) else { return }
        switch payload {
        case let resolution as SideEffectResolved: resolve(resolution, by: entry)
        case let cancellation as SessionCancelled: cancel(cancellation, by: entry)
        case let closure as CourseClosed: close(closure, by: entry)
        default: break
        }
    }
}
