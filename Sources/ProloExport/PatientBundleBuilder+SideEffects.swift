import ProloDomain

extension PatientBundleBuilder {
    /// A side effect: an AdverseEvent (left out once retracted: R4 gives it no status) with severity from the CTCAE
    /// grade, seriousness at grade ≥ 3, the grade itself in the ae-grade extension, the suspected injection, and
    /// the temperature as an Observation linked by `workflow-supportingInfo`.
    mutating func addSideEffect(_ report: SideEffectReported, from entry: PatientEvents.Entry) {
        let id = entry.id
        let reporter = reference(to: report.reporter)
        var extensions: [JSONValue] = [
            .object(["url": .string(FHIRSystem.aeGrade), "valueCodeableConcept": Self.grade(report.grade.value)])
        ]
        extensions += report.kinds.map {
            FHIRElement.localExtension(
                "side-effect-kind", "valueCoding", FHIRElement.local("side-effect-kind", $0.rawValue))
        }
        extensions += (report.localSigns ?? []).map {
            FHIRElement.localExtension("local-sign", "valueCoding", FHIRElement.local("local-sign", $0.rawValue))
        }
        if let note = report.note {
            extensions.append(FHIRElement.localExtension("note", "valueString", .string(note.text)))
        }
        var temperatureObservation: FHIRObject?
        if let temperature = report.temperatureC {
            var body = observation(
                entry, code: FHIRElement.concept(FHIRElement.coding(FHIRSystem.loinc, "8310-5", "Body temperature")),
                category: "vital-signs", performer: reporter)
            body["valueQuantity"] = FHIRElement.quantity(temperature.value, "Cel")
            temperatureObservation = body
            extensions.append(
                .object([
                    "url": .string(FHIRSystem.supportingInfo),
                    "valueReference": .object(["reference": .string("Observation/\(id)-temperature")]),
                ]))
        }
        // The AdverseEvent first: it is the event's main resource (what alerts implicate and Provenance names first).
        defer {
            if let temperatureObservation {
                emit("Observation", id + "-temperature", temperatureObservation, from: entry)
            }
        }
        guard !isRetracted(entry) else { return }
        let grade = report.grade.value
        var body: FHIRObject = [
            "actuality": .string("actual"),
            "event": FHIRElement.text(report.kinds.map(\.rawValue).joined(separator: ", ")),
            "subject": patientReference,
            "date": .string(report.onset.text),
            "recordedDate": .string(entry.event.occurredAt.text),
            "recorder": reporter,
            "severity": FHIRElement.concept(
                FHIRElement.coding(
                    FHIRSystem.hl7("adverse-event-severity"), grade <= 1 ? "mild" : grade == 2 ? "moderate" : "severe")),
            "seriousness": FHIRElement.concept(
                FHIRElement.coding(FHIRSystem.hl7("adverse-event-seriousness"), grade >= 3 ? "serious" : "non-serious")),
            "outcome": FHIRElement.concept(FHIRElement.coding(FHIRSystem.hl7("adverse-event-outcome"), "ongoing")),
            "extension": .array(extensions),
        ]
        if let injection = report.relatedInjection?.text {
            var suspects = [reference(toEventResource: injection, type: "Procedure")]
            suspects += (targets[injection] ?? []).filter { $0.hasPrefix("MedicationAdministration/") }.map(
                FHIRElement.reference)
            body["suspectEntity"] = .array(suspects.map { .object(["instance": $0]) })
        }
        emit("AdverseEvent", id, body, from: entry)
    }

    /// A side effect resolves: the AdverseEvent's outcome, and when.
    mutating func resolve(_ resolution: SideEffectResolved, by entry: PatientEvents.Entry) {
        let outcome =
            switch resolution.outcome {
            case .recovered: "resolved"
            case .recoveredWithSequelae: "resolvedWithSequelae"
            case .fatal: "fatal"
            case .unknown: "unknown"
            }
        change("AdverseEvent/" + resolution.report.text, by: entry) { body in
            body["outcome"] = FHIRElement.concept(FHIRElement.coding(FHIRSystem.hl7("adverse-event-outcome"), outcome))
            var extensions = FHIRElement.items(body["extension"])
            extensions.append(
                FHIRElement.localExtension("resolved-at", "valueDateTime", .string(resolution.resolvedAt.text)))
            body["extension"] = .array(extensions)
        }
    }

    /// A pain or disability score reported: an Observation (survey) by the patient or a clinician.
    mutating func addPain(_ pain: PainReported, from entry: PatientEvents.Entry) {
        var body = observation(
            entry, code: Self.painCode(pain.instrument), category: "survey", performer: reference(to: pain.reporter))
        switch pain.instrument {
        case .nrs, .rolandMorris: body["valueInteger"] = .int(Int64(pain.score))
        case .vas: body["valueQuantity"] = FHIRElement.quantity(Double(pain.score), "mm")
        case .odi: body["valueQuantity"] = FHIRElement.quantity(Double(pain.score), "%")
        }
        if let note = pain.note { body["note"] = .array([FHIRElement.note(note.text)]) }
        emit("Observation", entry.id, body, from: entry)
    }

    /// The reporter: this Patient, another patient or a practitioner known by id.
    func reference(to reporter: Reporter) -> JSONValue {
        switch reporter.role {
        case .patient where reporter.id == events.patient: patientReference
        case .patient: FHIRElement.logical("Patient", system: "patient", value: reporter.id.text)
        case .clinician: FHIRElement.practitioner(reporter.id)
        }
    }

    /// The CTCAE grade: NCIt for grades 1–4 (✔ in the mapping), and always the local code.
    static func grade(_ grade: Int) -> JSONValue {
        let ncit = [1: "C41338", 2: "C41339", 3: "C41340", 4: "C41337"]
        let local = FHIRElement.local("ctcae-grade", String(grade))
        if let code = ncit[grade] {
            return FHIRElement.concept(FHIRElement.coding(FHIRSystem.ncit, code), local, text: "CTCAE grade \(grade)")
        }
        return FHIRElement.concept(local, text: "CTCAE grade \(grade)")
    }
}
