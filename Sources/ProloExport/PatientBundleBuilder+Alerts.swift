import ProloDomain
import ProloProjections

extension PatientBundleBuilder {
    /// The treatment state's alerts and review flags: one DetectedIssue each (implicating the resources of the
    /// events that raised it; a clearance is its mitigation and a version), and for an alert that blocks the next
    /// injection, also a Flag, active until cleared.
    ///
    /// An alert is derived, not recorded, so its id is the first raising event's UUID and the alert kind
    /// (`<uuid>-possible-infection`), cut to FHIR's 64 characters.
    mutating func addAlerts() {
        var used: Set<String> = []
        let all = state.alerts.map { (flag: $0, review: false) } + state.reviewFlags.map { (flag: $0, review: true) }
        for (flag, review) in all {
            guard let raiser = flag.raisedBy.first else { continue }
            var id = String("\(raiser)-\(flag.kind)".prefix(64))
            var suffix = 2
            while used.contains(id) {
                id = String("\(raiser)-\(flag.kind)".prefix(60)) + "-\(suffix)"
                suffix += 1
            }
            used.insert(id)
            let lastUpdated = flag.raisedBy.compactMap { entries[$0]?.event.hlc }.max() ?? HLC(packed: 0)
            let rank = TreatmentState.severity(of: flag.kind)
            var issue = FHIRResource(
                type: "DetectedIssue", id: id,
                body: [
                    "status": .string("final"),
                    "code": FHIRElement.localConcept("alert-kind", flag.kind, text: review ? "review flag" : "alert"),
                    "severity": .string(review || rank > 8 ? "low" : rank <= 3 ? "high" : "moderate"),
                    "patient": patientReference,
                    "identifiedDateTime": .string(FHIRElement.dateTime(flag.raisedAt)),
                    "implicated": .array(flag.raisedBy.map(reference(toEventResource:))),
                ],
                lastUpdated: lastUpdated)
            let blocks = !review && (AlertKind(rawValue: flag.kind)?.blocksNextInjection ?? false)
            var marker = FHIRResource(
                type: "Flag", id: id,
                body: [
                    "status": .string("active"),
                    "category": .array([
                        FHIRElement.concept(FHIRElement.coding(FHIRSystem.hl7("flag-category"), "clinical"))
                    ]),
                    "code": FHIRElement.localConcept(
                        "alert-kind", flag.kind, text: "blocks the next injection until cleared"),
                    "subject": patientReference,
                    "period": .object(["start": .string(FHIRElement.dateTime(flag.raisedAt))]),
                    "extension": .array([
                        .object([
                            "url": .string(FHIRSystem.flagDetail), "valueReference": FHIRElement.reference(issue.key),
                        ])
                    ]),
                ],
                lastUpdated: lastUpdated)
            var clearance: PatientEvents.Entry?
            if let clearedBy = flag.clearedBy, let entry = entries[clearedBy] {
                clearance = entry
                var mitigation: FHIRObject = ["date": .string(entry.event.occurredAt.text)]
                if let cleared = events.effectivePayload(of: entry) as? AlertCleared {
                    mitigation["action"] = FHIRElement.text("cleared: " + cleared.reason.text)
                    mitigation["author"] = FHIRElement.practitioner(cleared.clinician)
                } else {
                    mitigation["action"] = FHIRElement.text("cleared")
                }
                issue.body["mitigation"] = .array([.object(mitigation)])
                issue.changed(by: entry.event)
                marker.body["status"] = .string("inactive")
                marker.body["period"] = .object([
                    "start": .string(FHIRElement.dateTime(flag.raisedAt)), "end": .string(entry.event.occurredAt.text),
                ])
                marker.changed(by: entry.event)
            }
            add(issue, for: clearance?.id)
            if blocks { add(marker, for: clearance?.id) }
        }
    }

    /// A reference to the first resource an event made, or a logical reference to the event.
    func reference(toEventResource event: String) -> JSONValue {
        if let key = targets[event]?.first { return FHIRElement.reference(key) }
        return FHIRElement.logical(nil, system: "event", value: event)
    }
}
