import ProloDomain

extension PatientBundleBuilder {
    // MARK: Patient

    /// The Patient: named by the first registration's event id, with the content of the last registration in effect
    /// (each later registration and each amendment is a version). A retracted registration's content is left out;
    /// the Patient stays, with Prolo's patient id only, as the anchor every other resource refers to.
    mutating func addPatient() {
        let registrations = events.entries.filter { $0.payload is PatientRegistered }
        let id = registrations.first?.id ?? Self.fhirID(events.patient.text)
        let inEffect = registrations.filter { !isRetracted($0) }
        var body: FHIRObject = ["identifier": .array([FHIRElement.identifier("patient", events.patient.text)])]
        var resource = FHIRResource(
            type: "Patient", id: id, body: body, lastUpdated: registrations.first?.event.hlc ?? HLC(packed: 0))
        for (index, entry) in inEffect.enumerated() {
            if index > 0 { resource.changed(by: entry.event) }
            for amendment in events.amendmentsOf(entry.id) { resource.changed(by: amendment.event) }
        }
        if let last = inEffect.last, let registration = events.effectivePayload(of: last) as? PatientRegistered {
            body["identifier"] = .array([
                .object([
                    "type": FHIRElement.concept(
                        FHIRElement.coding(FHIRSystem.hl7("v2-0203"), "MR", "Medical record number")),
                    "system": .string(FHIRSystem.identifier("mrn")), "value": .string(registration.mrn.text),
                ]),
                FHIRElement.identifier("patient", events.patient.text),
            ])
            body["name"] = .array([
                .object([
                    "family": .string(registration.name.family.text),
                    "given": .array([.string(registration.name.given.text)]),
                ])
            ])
            body["birthDate"] = .string(registration.birthDate.description)
            body["gender"] = .string(registration.sex.rawValue)
            var telecom: [JSONValue] = []
            if let phone = registration.contact?.phone {
                telecom.append(.object(["system": .string("phone"), "value": .string(phone.text)]))
            }
            if let email = registration.contact?.email {
                telecom.append(.object(["system": .string("email"), "value": .string(email.text)]))
            }
            if !telecom.isEmpty { body["telecom"] = .array(telecom) }
            if let address = registration.contact?.address {
                body["address"] = .array([.object(["text": .string(address.text)])])
            }
            resource.body = body
        }
        patientKey = resource.key
        add(resource, for: nil)
        for entry in registrations { targets[entry.id, default: []].append(patientKey) }
    }

    /// A FHIR id for a Prolo patient id (FHIR ids have no `_` or `:`), used only when no registration names the
    /// Patient.
    static func fhirID(_ text: String) -> String {
        String(text.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "." ? $0 : "-" }.prefix(64))
    }

    // MARK: Consent

    /// A Consent: treatment scope, opt-in policy rule (ppc-1), permit or deny; the risks discussed and the
    /// acknowledgements in local extensions; the signed form's SHA-256 as an identifier.
    mutating func addConsent(_ consent: ConsentRecorded, from entry: PatientEvents.Entry, position: Int) {
        var extensions: [JSONValue] = consent.risksDiscussed.map {
            FHIRElement.localExtension(
                "consent-risk-discussed", "valueCoding", FHIRElement.local("consent-risk", $0.rawValue))
        }
        extensions.append(
            FHIRElement.localExtension(
                "investigational-acknowledged", "valueBoolean", .bool(consent.investigationalAcknowledged)))
        extensions.append(
            FHIRElement.localExtension("self-pay-acknowledged", "valueBoolean", .bool(consent.selfPayAcknowledged)))
        var body: FHIRObject = [
            "status": status(entry, otherwise: "active"),
            "scope": FHIRElement.concept(FHIRElement.coding(FHIRSystem.hl7("consentscope"), "treatment")),
            "category": .array([
                FHIRElement.concept(FHIRElement.coding(FHIRSystem.loinc, "59284-0", "Consent Document"))
            ]),
            "patient": patientReference,
            "dateTime": .string(entry.event.occurredAt.text),
            "performer": .array([patientReference]),
            "policyRule": FHIRElement.concept(FHIRElement.coding(FHIRSystem.hl7("v3-ActCode"), "OPTIN")),
            "provision": .object(["type": .string(consent.status == .given ? "permit" : "deny")]),
            "extension": .array(extensions),
        ]
        if let hash = consent.formSha256 {
            body["identifier"] = .array([FHIRElement.identifier("consent-form-sha256", hash.text)])
        }
        emit("Consent", entry.id, body, from: entry)
        if !isRetracted(entry) {
            consents.append(
                (entry: entry, occurredAt: entry.event.occurredAt.millisecondsSinceEpoch, position: position))
        }
    }

    /// The latest consent in clinical order is active; each one superseded is inactive, a version made by the
    /// consent that superseded it.
    mutating func settleConsents() {
        let ordered = consents.sorted { ($0.occurredAt, $0.position) < ($1.occurredAt, $1.position) }
        for (consent, next) in zip(ordered, ordered.dropFirst()) {
            change("Consent/" + consent.entry.id, by: next.entry, counted: false) { $0["status"] = .string("inactive") }
        }
    }
}
