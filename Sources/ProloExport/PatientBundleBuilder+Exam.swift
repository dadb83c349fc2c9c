import ProloDomain

extension PatientBundleBuilder {
    /// An exam: an ambulatory Encounter; Observations of pain (NRS, ODI), provocation tests, palpation, range of
    /// motion, the neuro and red-flag screens, body weight and the bleeding and allergy history; one Condition per
    /// diagnosis; the assessment and decision as a ClinicalImpression.
    mutating func addExam(_ exam: ExamRecorded, from entry: PatientEvents.Entry) {
        let id = entry.id
        let examiner = FHIRElement.practitioner(exam.examiner)
        emit(
            "Encounter", id,
            [
                "status": status(entry, otherwise: "finished"),
                "class": FHIRElement.coding(FHIRSystem.hl7("v3-ActCode"), "AMB", "ambulatory"),
                "subject": patientReference,
                "period": .object(["start": .string(entry.event.occurredAt.text)]),
                "participant": .array([.object(["individual": examiner])]),
                "extension": .array([
                    FHIRElement.localExtension(
                        "body-region", "valueCoding", FHIRElement.local("body-region", exam.region.rawValue))
                ]),
            ], from: entry)
        func observe(_ part: String, _ code: JSONValue, category: String = "exam", _ members: FHIRObject) {
            var body = observation(entry, code: code, category: category, performer: examiner)
            body["encounter"] = .object(["reference": .string("Encounter/" + id)])
            body.merge(members) { _, new in new }
            emit("Observation", id + "-" + part, body, from: entry)
        }
        observe("nrs", Self.painCode(.nrs), category: "survey", ["valueInteger": .int(Int64(exam.painNRS.value))])
        observe(
            "odi", Self.painCode(.odi), category: "survey",
            ["valueQuantity": FHIRElement.quantity(Double(exam.odi.value), "%")])
        for (index, finding) in exam.provocationTests.enumerated() {
            var members = Self.result(finding.result)
            if let reproduces = finding.reproducesFamiliarPain {
                members["component"] = .array([
                    Self.component("reproduces-familiar-pain", "valueBoolean", .bool(reproduces))
                ])
            }
            observe("prov-\(index + 1)", FHIRElement.localConcept("provocation-test", finding.test.rawValue), members)
        }
        for (index, finding) in exam.palpation.enumerated() {
            observe(
                "palp-\(index + 1)",
                FHIRElement.localConcept("exam-finding", "ligament-tenderness", text: "ligament tenderness (0-3)"),
                [
                    "bodySite": FHIRElement.site(finding.ligament.rawValue, side: finding.side, level: finding.level),
                    "valueInteger": .int(Int64(finding.tenderness.value)),
                    "component": .array([
                        Self.component("reproduces-pain", "valueBoolean", .bool(finding.reproducesPain))
                    ]),
                ])
        }
        for (index, range) in exam.rangeOfMotion.enumerated() {
            observe(
                "rom-\(index + 1)",
                FHIRElement.localConcept("movement", range.movement.rawValue, text: "lumbar range of motion"),
                [
                    "valueQuantity": FHIRElement.quantity(Double(range.degrees.value), "deg"),
                    "component": .array([
                        Self.component("pain-at-end-range", "valueBoolean", .bool(range.painAtEndRange))
                    ]),
                ])
        }
        observe("neuro", FHIRElement.localConcept("exam-finding", "neuro-screen"), neuroScreen(exam.neuroScreen))
        let flags = exam.redFlags
        let redFlags: [(String, Bool)] = [
            ("cancer-history", flags.cancerHistory), ("unexplained-weight-loss", flags.unexplainedWeightLoss),
            ("fever", flags.fever), ("significant-trauma", flags.significantTrauma),
            ("immunosuppression", flags.immunosuppression), ("saddle-anaesthesia", flags.saddleAnaesthesia),
            ("bladder-bowel-dysfunction", flags.bladderBowelDysfunction),
            ("progressive-neurological-deficit", flags.progressiveNeurologicalDeficit),
        ]
        observe(
            "red-flags", FHIRElement.localConcept("exam-finding", "red-flag-screen"),
            ["component": .array(redFlags.map { Self.component($0.0, "valueBoolean", .bool($0.1)) })])
        if let weight = exam.bodyWeightKg {
            observe(
                "weight", FHIRElement.concept(FHIRElement.coding(FHIRSystem.loinc, "29463-7", "Body weight")),
                category: "vital-signs", ["valueQuantity": FHIRElement.quantity(weight.value, "kg")])
        }
        var history: [JSONValue] = []
        if let taking = exam.anticoagulantOrAntiplatelet {
            history.append(Self.component("anticoagulant-or-antiplatelet", "valueBoolean", .bool(taking)))
        }
        if let disorder = exam.bleedingDisorder {
            history.append(Self.component("bleeding-disorder", "valueBoolean", .bool(disorder)))
        }
        if let allergies = exam.allergies {
            history.append(
                Self.component("local-anaesthetic-allergy", "valueBoolean", .bool(allergies.localAnaesthetic)))
            for other in allergies.other ?? [] {
                history.append(Self.component("other-allergy", "valueString", .string(other.text)))
            }
        }
        if !history.isEmpty {
            observe(
                "history", FHIRElement.localConcept("exam-finding", "bleeding-and-allergy-history"),
                ["component": .array(history)])
        }
        var problems: [JSONValue] = []
        for (index, diagnosis) in exam.diagnoses.enumerated() {
            var body: FHIRObject = [
                "verificationStatus": FHIRElement.concept(
                    FHIRElement.coding(
                        FHIRSystem.hl7("condition-ver-status"), isRetracted(entry) ? "entered-in-error" : "confirmed")),
                "category": .array([
                    FHIRElement.concept(FHIRElement.coding(FHIRSystem.hl7("condition-category"), "encounter-diagnosis"))
                ]),
                "code": FHIRElement.concept(
                    FHIRElement.coding(FHIRSystem.icd10, diagnosis.code.text, diagnosis.description?.text)),
                "subject": patientReference,
                "encounter": .object(["reference": .string("Encounter/" + id)]),
                "recordedDate": .string(entry.event.occurredAt.text),
                "recorder": examiner,
            ]
            // con-5: an entered-in-error Condition has no clinical status.
            if !isRetracted(entry) {
                body["clinicalStatus"] = FHIRElement.concept(
                    FHIRElement.coding(FHIRSystem.hl7("condition-clinical"), "active"))
            }
            emit("Condition", "\(id)-dx-\(index + 1)", body, from: entry)
            problems.append(.object(["reference": .string("Condition/\(id)-dx-\(index + 1)")]))
        }
        var impression: FHIRObject = [
            "status": status(entry, otherwise: "completed"),
            "subject": patientReference,
            "encounter": .object(["reference": .string("Encounter/" + id)]),
            "date": .string(entry.event.occurredAt.text),
            "assessor": examiner,
            "finding": .array([
                .object([
                    "itemCodeableConcept": FHIRElement.localConcept(
                        "exam-finding",
                        exam.assessment.ligamentLaxityLikely ? "ligament-laxity-likely" : "ligament-laxity-unlikely")
                ]),
                .object([
                    "itemCodeableConcept": FHIRElement.localConcept(
                        "exam-finding",
                        exam.decision.candidate ? "prolotherapy-candidate" : "not-a-prolotherapy-candidate"),
                    "basis": .string(exam.decision.reason.text),
                ]),
            ]),
        ]
        if let note = exam.assessment.note { impression["summary"] = .string(note.text) }
        if !problems.isEmpty { impression["problem"] = .array(problems) }
        emit("ClinicalImpression", id + "-impression", impression, from: entry)
    }

    /// An Observation's common members: final (amended once corrected; entered-in-error once retracted), its
    /// category, code, the Patient, the clinical time and who performed it.
    func observation(_ entry: PatientEvents.Entry, code: JSONValue, category: String, performer: JSONValue)
        -> FHIRObject
    {
        let status =
            isRetracted(entry) ? "entered-in-error" : events.amendmentsOf(entry.id).isEmpty ? "final" : "amended"
        return [
            "status": .string(status),
            "category": .array([
                FHIRElement.concept(FHIRElement.coding(FHIRSystem.hl7("observation-category"), category))
            ]),
            "code": code,
            "subject": patientReference,
            "effectiveDateTime": .string(entry.event.occurredAt.text),
            "performer": .array([performer]),
        ]
    }

    /// The code of a pain or disability instrument: LOINC where the mapping confirmed one, else local.
    static func painCode(_ instrument: PainInstrument) -> JSONValue {
        let local = FHIRElement.local("pain-instrument", instrument.rawValue)
        switch instrument {
        case .nrs:
            return FHIRElement.concept(
                FHIRElement.coding(FHIRSystem.loinc, "72514-3"), local, text: "pain severity 0-10 NRS")
        case .vas:
            return FHIRElement.concept(
                FHIRElement.coding(FHIRSystem.loinc, "38214-3"), local, text: "pain VAS 0-100 mm")
        case .odi:
            return FHIRElement.concept(
                FHIRElement.coding(FHIRSystem.loinc, "97909-6"), local, text: "Oswestry Disability Index")
        case .rolandMorris: return FHIRElement.concept(local, text: "Roland-Morris disability questionnaire 0-24")
        }
    }

    /// `valueCodeableConcept` for a positive or negative result (local code, SNOMED beside it), or
    /// `dataAbsentReason` not-performed for a test not done.
    static func result(_ result: TestResult) -> FHIRObject {
        let local = FHIRElement.local("test-result", result.rawValue)
        switch result {
        case .positive:
            return [
                "valueCodeableConcept": FHIRElement.concept(
                    local, FHIRElement.coding(FHIRSystem.snomed, "10828004", "Positive"))
            ]
        case .negative:
            return [
                "valueCodeableConcept": FHIRElement.concept(
                    local, FHIRElement.coding(FHIRSystem.snomed, "260385009", "Negative"))
            ]
        case .notDone:
            return [
                "dataAbsentReason": FHIRElement.concept(
                    FHIRElement.coding(FHIRSystem.hl7("data-absent-reason"), "not-performed"))
            ]
        }
    }

    /// An Observation component with a local exam-finding code.
    static func component(_ code: String, _ valueKey: String, _ value: JSONValue) -> JSONValue {
        .object(["code": FHIRElement.localConcept("exam-finding", code), valueKey: value])
    }

    private func neuroScreen(_ screen: ExamRecorded.NeuroScreen) -> FHIRObject {
        func legRaise(_ code: String, _ result: TestResult) -> JSONValue {
            var members = Self.result(result)
            members["code"] = FHIRElement.localConcept("exam-finding", code)
            return .object(members)
        }
        var members: FHIRObject = [
            "component": .array([
                legRaise("straight-leg-raise-left", screen.straightLegRaiseLeft),
                legRaise("straight-leg-raise-right", screen.straightLegRaiseRight),
                Self.component("motor-normal", "valueBoolean", .bool(screen.motorNormal)),
                Self.component("sensation-normal", "valueBoolean", .bool(screen.sensationNormal)),
                Self.component("reflexes-normal", "valueBoolean", .bool(screen.reflexesNormal)),
            ])
        ]
        if let note = screen.note { members["note"] = .array([FHIRElement.note(note.text)]) }
        return members
    }
}
