import ProloDomain

extension PatientBundleBuilder {
    // MARK: Course

    /// A course: a CarePlan (intent plan) with one activity for the injections, timed by
    /// `scheduledTiming.repeat` {count = sessions, period = min weeks, periodMax = max weeks}, the planned proliferant
    /// as a Medication, the target sites in extensions, and one activity per adjunct therapy.
    mutating func addCourse(_ course: CoursePlanned, from entry: PatientEvents.Entry) {
        let id = entry.id
        emit("Medication", id + "-proliferant", medication(course.plannedProliferant, from: entry), from: entry)
        let injections: FHIRObject = [
            "kind": .string("ServiceRequest"),
            "code": FHIRElement.localConcept("procedure", "prolotherapy-injection", text: "prolotherapy injection"),
            "status": .string("not-started"),
            "scheduledTiming": .object([
                "repeat": .object([
                    "count": .int(Int64(course.sessions.value)), "period": .int(Int64(course.interval.minWeeks.value)),
                    "periodMax": .int(Int64(course.interval.maxWeeks.value)), "periodUnit": .string("wk"),
                ])
            ]),
            "productReference": .object(["reference": .string("Medication/\(id)-proliferant")]),
            "extension": .array(
                course.targetSites.map {
                    FHIRElement.localExtension(
                        "target-site", "valueCodeableConcept",
                        FHIRElement.site($0.site.rawValue, side: $0.side, level: $0.level))
                }),
        ]
        let adjuncts: [JSONValue] = course.adjunctTherapies.map {
            .object([
                "detail": .object([
                    "kind": .string("ServiceRequest"), "code": FHIRElement.localConcept("adjunct-therapy", $0.rawValue),
                    "status": .string("not-started"),
                ])
            ])
        }
        emit(
            "CarePlan", id,
            [
                "status": status(entry, otherwise: "active"),
                "intent": .string("plan"),
                "category": .array([FHIRElement.localConcept("care-plan-category", "prolotherapy-course")]),
                "title": .string(course.protocol.text),
                "subject": patientReference,
                "created": .string(entry.event.occurredAt.text),
                "period": .object(["start": .string(entry.event.occurredAt.text)]),
                "author": FHIRElement.practitioner(course.plannedBy),
                "extension": .array([
                    FHIRElement.localExtension(
                        "body-region", "valueCoding", FHIRElement.local("body-region", course.region.rawValue))
                ]),
                "activity": .array([.object(["detail": .object(injections)])] + adjuncts),
            ], from: entry)
    }

    /// A course closes: completed when resolved, revoked for any other reason; its end, reason and summary.
    mutating func close(_ closure: CourseClosed, by entry: PatientEvents.Entry) {
        let resolved = closure.reason == .resolved
        change("CarePlan/" + closure.course.text, by: entry) { body in
            body["status"] = .string(resolved ? "completed" : "revoked")
            if case .object(var period)? = body["period"] {
                period["end"] = .string(entry.event.occurredAt.text)
                body["period"] = .object(period)
            }
            body["note"] = .array([FHIRElement.note(closure.summary.text)])
            var extensions = FHIRElement.items(body["extension"])
            extensions.append(
                FHIRElement.localExtension(
                    "course-close-reason", "valueCoding",
                    FHIRElement.local("course-close-reason", closure.reason.rawValue)))
            body["extension"] = .array(extensions)
            Self.setActivityStatus(&body, to: resolved ? "completed" : "stopped")
        }
    }

    /// The course an injection or adjunct therapy at `time` belongs to: the latest planned at or before it.
    func course(at time: Int64) -> String? { courses.last { $0.occurredAt <= time }?.id }

    /// Sets every activity's status.
    static func setActivityStatus(_ body: inout FHIRObject, to status: String) {
        guard case .array(let activities)? = body["activity"] else { return }
        body["activity"] = .array(
            activities.map { activity in
                guard case .object(var members) = activity, case .object(var detail)? = members["detail"] else {
                    return activity
                }
                detail["status"] = .string(status)
                members["detail"] = .object(detail)
                return .object(members)
            })
    }

    // MARK: Injection

    /// An injection session: a Procedure based on the course's CarePlan, one Medication for the solution, and one
    /// MedicationAdministration per site (partOf the Procedure; dose in mL; periarticular route).
    mutating func addInjection(_ injection: InjectionAdministered, from entry: PatientEvents.Entry) {
        let id = entry.id
        let practitioner = FHIRElement.practitioner(injection.practitioner)
        let medication = "Medication/\(id)-medication"
        var procedure: FHIRObject = [
            "status": status(entry, otherwise: "completed"),
            "code": FHIRElement.localConcept("procedure", "prolotherapy-injection", text: "prolotherapy injection"),
            "subject": patientReference,
            "performedDateTime": .string(entry.event.occurredAt.text),
            "performer": .array([.object(["actor": practitioner])]),
            "bodySite": .array(
                [FHIRElement.concept(FHIRElement.coding(FHIRSystem.snomed, "37822005", "Lower back structure"))]
                    + injection.sites.map { FHIRElement.site($0.site.rawValue, side: $0.side, level: $0.level) }),
            "usedReference": .array([.object(["reference": .string(medication)])]),
            "extension": .array([
                FHIRElement.localExtension(
                    "guidance", "valueCoding", FHIRElement.local("guidance", injection.guidance.rawValue)),
                FHIRElement.localExtension("needle-gauge", "valueInteger", .int(Int64(injection.needle.gauge.value))),
                FHIRElement.localExtension(
                    "needle-length", "valueQuantity", FHIRElement.quantity(injection.needle.lengthMm.value, "mm")),
                FHIRElement.localExtension("aftercare-given", "valueBoolean", .bool(injection.aftercareGiven)),
            ]),
        ]
        if let course = basedOn(entry) { procedure["basedOn"] = .array([course]) }
        if injection.immediateReaction != .noReaction {
            procedure["complication"] = .array([
                FHIRElement.localConcept("immediate-reaction", injection.immediateReaction.rawValue)
            ])
        }
        if let note = injection.note { procedure["note"] = .array([FHIRElement.note(note.text)]) }
        emit("Procedure", id, procedure, from: entry)
        var solution = self.medication(injection.proliferant, from: entry)
        solution["batch"] = .object([
            "lotNumber": .string(injection.lot.text), "expirationDate": .string(injection.expiry.description),
        ])
        emit("Medication", id + "-medication", solution, from: entry)
        for (index, site) in injection.sites.enumerated() {
            emit(
                "MedicationAdministration", "\(id)-site-\(index + 1)",
                [
                    "status": status(entry, otherwise: "completed"),
                    "medicationReference": .object(["reference": .string(medication)]),
                    "subject": patientReference,
                    "effectiveDateTime": .string(entry.event.occurredAt.text),
                    "partOf": .array([.object(["reference": .string("Procedure/" + id)])]),
                    "performer": .array([.object(["actor": practitioner])]),
                    "dosage": .object([
                        "site": FHIRElement.site(site.site.rawValue, side: site.side, level: site.level),
                        "route": FHIRElement.concept(
                            FHIRElement.coding(FHIRSystem.snomed, "372474001", "Periarticular route")),
                        "dose": FHIRElement.quantity(site.volumeMl.value, "mL"),
                    ]),
                    "extension": .array([
                        FHIRElement.localExtension(
                            "needle-passes", "valueInteger", .int(Int64(site.needlePasses.value)))
                    ]),
                ], from: entry)
        }
        // The course's first injection puts its activities in progress: a version of the CarePlan.
        if !isRetracted(entry), let course = course(at: entry.event.occurredAt.millisecondsSinceEpoch),
            let plan = resource("CarePlan/" + course), plan.body["status"]?.stringValue == "active",
            FHIRElement.items(plan.body["activity"]).first?["detail"]?["status"]?.stringValue == "not-started"
        {
            change("CarePlan/" + course, by: entry, counted: false) { Self.setActivityStatus(&$0, to: "in-progress") }
        }
    }

    /// `basedOn` for an injection or adjunct therapy: the CarePlan of its course, when the Bundle holds it.
    func basedOn(_ entry: PatientEvents.Entry) -> JSONValue? {
        guard let course = course(at: entry.event.occurredAt.millisecondsSinceEpoch), holds("CarePlan/" + course) else {
            return nil
        }
        return FHIRElement.reference("CarePlan/" + course)
    }

    /// A proliferant solution: dextrose and lidocaine strengths as mg/mL ratios (local code, SNOMED and RxNorm
    /// beside it), other components by name.
    func medication(_ proliferant: Proliferant, from entry: PatientEvents.Entry) -> FHIRObject {
        func strength(_ milligrams: Double) -> JSONValue {
            .object(["numerator": FHIRElement.quantity(milligrams, "mg"), "denominator": FHIRElement.quantity(1, "mL")])
        }
        var ingredients: [JSONValue] = []
        var words: [String] = []
        let dextrose = proliferant.dextroseMgPerMl.value
        if dextrose > 0 {
            ingredients.append(
                .object([
                    "itemCodeableConcept": FHIRElement.concept(
                        FHIRElement.local("proliferant", "dextrose"),
                        FHIRElement.coding(FHIRSystem.snomed, "67079006", "Glucose"),
                        text: "dextrose"),
                    "isActive": .bool(true), "strength": strength(dextrose),
                ]))
            words.append("dextrose \(FHIRExport.number(dextrose)) mg/mL")
        }
        if let lidocaine = proliferant.lidocaineMgPerMl?.value {
            ingredients.append(
                .object([
                    "itemCodeableConcept": FHIRElement.concept(
                        FHIRElement.local("proliferant", "lidocaine"),
                        FHIRElement.coding(FHIRSystem.snomed, "387480006", "Lidocaine"),
                        FHIRElement.coding(FHIRSystem.rxnorm, "6387", "lidocaine"), text: "lidocaine"),
                    "isActive": .bool(true), "strength": strength(lidocaine),
                ]))
            words.append("lidocaine \(FHIRExport.number(lidocaine)) mg/mL")
        }
        for component in proliferant.otherComponents ?? [] {
            ingredients.append(
                .object([
                    "itemCodeableConcept": FHIRElement.text(component.name.text), "isActive": .bool(true),
                    "strength": strength(component.mgPerMl.value),
                ]))
            words.append("\(component.name.text) \(FHIRExport.number(component.mgPerMl.value)) mg/mL")
        }
        var body: FHIRObject = [
            "status": status(entry, otherwise: "active"),
            "code": FHIRElement.localConcept(
                "proliferant", "prolotherapy-solution", text: words.joined(separator: ", ")),
        ]
        if !ingredients.isEmpty { body["ingredient"] = .array(ingredients) }
        return body
    }

    // MARK: Adjunct therapy and sessions

    /// An adjunct therapy session: a Procedure with a local code, based on the course's CarePlan.
    mutating func addAdjunctTherapy(_ therapy: AdjunctTherapyRecorded, from entry: PatientEvents.Entry) {
        var body: FHIRObject = [
            "status": status(entry, otherwise: "completed"),
            "code": FHIRElement.localConcept("adjunct-therapy", therapy.therapy.rawValue),
            "subject": patientReference,
            "performedDateTime": .string(entry.event.occurredAt.text),
            "performer": .array([.object(["actor": FHIRElement.practitioner(therapy.provider)])]),
        ]
        if let course = basedOn(entry) { body["basedOn"] = .array([course]) }
        if let note = therapy.note { body["note"] = .array([FHIRElement.note(note.text)]) }
        emit("Procedure", entry.id, body, from: entry)
    }

    /// A booked session: an Appointment. Prolo records no duration, so `end` is `start` (R4 app-2 needs both).
    mutating func addAppointment(_ session: SessionScheduled, from entry: PatientEvents.Entry) {
        var body: FHIRObject = [
            "status": status(entry, otherwise: "booked"),
            "serviceType": .array([FHIRElement.localConcept("session-purpose", session.purpose.rawValue)]),
            "start": .string(session.appointmentAt.text),
            "end": .string(session.appointmentAt.text),
            "created": .string(entry.event.occurredAt.text),
            "participant": .array([
                .object(["actor": patientReference, "status": .string("accepted")]),
                .object(["actor": FHIRElement.practitioner(session.practitioner), "status": .string("accepted")]),
            ]),
        ]
        if let reason = session.reason { body["description"] = .string(reason.text) }
        emit("Appointment", entry.id, body, from: entry)
    }

    /// A cancelled session: the same Appointment, cancelled, with the reason (R4 spells it `cancelationReason`).
    mutating func cancel(_ cancellation: SessionCancelled, by entry: PatientEvents.Entry) {
        change("Appointment/" + cancellation.session.text, by: entry) { body in
            body["status"] = .string("cancelled")
            body["cancelationReason"] = FHIRElement.localConcept(
                "cancel-reason", cancellation.reason.rawValue, text: cancellation.note?.text)
        }
    }
}
