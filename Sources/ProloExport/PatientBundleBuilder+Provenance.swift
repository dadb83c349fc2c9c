import Foundation
import ProloDomain

extension PatientBundleBuilder {
    /// The Devices: every device that recorded one of the events, and the patient's home devices; identified by
    /// their public key and origin, inactive once revoked.
    mutating func addDevices() {
        var origins = Set(events.entries.map(\.event.origin))
        origins.formUnion(registry.devices.values.filter { $0.patient == events.patient }.map(\.origin))
        var made: [String: [PatientEvents.Entry]] = [:]
        for entry in events.entries {
            if let enrolled = entry.payload as? DeviceEnrolled,
                let key = try? DevicePublicKey(base64: enrolled.publicKey.text)
            {
                made[key.origin.text, default: []].append(entry)
                origins.insert(key.origin)
            } else if let revoked = entry.payload as? DeviceRevoked, let origin = registry.revocationTarget(revoked) {
                made[origin.text, default: []].append(entry)
            }
        }
        for origin in origins.sorted(by: { $0.text < $1.text }) {
            let record = registry.devices[origin]
            var identifiers = [FHIRElement.identifier("device-origin", origin.text)]
            if let record { identifiers.insert(FHIRElement.identifier("device-key", record.publicKey.base64), at: 0) }
            var body: FHIRObject = [
                "identifier": .array(identifiers),
                "status": .string(record == nil ? "unknown" : record?.revokedBy == nil ? "active" : "inactive"),
            ]
            if let record {
                body["deviceName"] = .array([
                    .object(["name": .string(record.name), "type": .string("user-friendly-name")])
                ])
                body["type"] = FHIRElement.localConcept("device-role", record.role.rawValue)
                if record.patient == events.patient { body["patient"] = patientReference }
            }
            let changes = made[origin.text] ?? []
            var device = FHIRResource(
                type: "Device", id: origin.text, body: body,
                lastUpdated: changes.first?.event.hlc ?? record?.updatedHLC ?? HLC(packed: 0))
            for change in changes.dropFirst() where !isRetracted(change) { device.changed(by: change.event) }
            add(device, for: nil)
            for change in changes { targets[change.id, default: []].append(device.key) }
        }
    }

    /// One Provenance per event: what it made or changed, who recorded it on which device, when, and its Ed25519
    /// signature (ASTM source signature by the Device) with the signed event hash in an extension. The signature
    /// covers Prolo's canonical envelope and body (Schemas/envelope.md), not the FHIR JSON.
    mutating func addProvenances() {
        for entry in events.entries {
            let event = entry.event
            var activity = "CREATE"
            var concerns: String?
            var entities: [JSONValue] = [Self.entity("source", event.id.text)]
            var reason: String?
            switch entry.payload {
            case let amendment as EventAmended:
                (activity, concerns, reason) = ("UPDATE", amendment.target.text, amendment.reason.text)
                entities.append(Self.entity("revision", amendment.target.text))
            case let retraction as EventRetracted:
                (activity, concerns) = ("DELETE", retraction.target.text)
                reason = [retraction.reason.rawValue, retraction.note?.text].compactMap { $0 }.joined(separator: ": ")
                entities.append(Self.entity("removal", retraction.target.text))
            case let resolution as SideEffectResolved: (activity, concerns) = ("UPDATE", resolution.report.text)
            case let cancellation as SessionCancelled: (activity, concerns) = ("UPDATE", cancellation.session.text)
            case let closure as CourseClosed: (activity, concerns) = ("UPDATE", closure.course.text)
            case let clearance as AlertCleared: (activity, concerns) = ("UPDATE", clearance.raisedBy.first?.text)
            case is DeviceRevoked: activity = "UPDATE"
            default: break
            }
            var keys: [String] = []
            for key in targets[entry.id] ?? [] where !keys.contains(key) { keys.append(key) }
            if keys.isEmpty, let concerns, entry.payload is EventAmended || entry.payload is EventRetracted {
                for key in targets[concerns] ?? [] where !keys.contains(key) { keys.append(key) }
            }
            let target: [JSONValue] =
                keys.isEmpty
                ? [FHIRElement.logical(nil, system: "event", value: concerns ?? event.id.text)]
                : keys.map(FHIRElement.reference)
            let device = FHIRElement.reference("Device/" + event.origin.text)
            var agents: [JSONValue] = []
            if let author = authorReference(event.author) { agents.append(Self.agent("author", author)) }
            agents.append(Self.agent("composer", device))
            var body: FHIRObject = [
                "target": .array(target),
                "occurredDateTime": .string(event.occurredAt.text),
                "recorded": .string(FHIRElement.instant(event.hlc)),
                "activity": FHIRElement.concept(FHIRElement.coding(FHIRSystem.hl7("v3-DataOperation"), activity)),
                "agent": .array(agents),
                "entity": .array(entities),
                "signature": .array([
                    .object([
                        "type": .array([
                            FHIRElement.coding(
                                FHIRSystem.astmSignatureType, "1.2.840.10065.1.12.1.14", "Source Signature")
                        ]),
                        "when": .string(FHIRElement.instant(event.hlc)),
                        "who": device,
                        "data": .string(Data(event.signature).base64EncodedString()),
                        "extension": .array([
                            FHIRElement.localExtension("event-hash", "valueString", .string(event.hash.hex))
                        ]),
                    ])
                ]),
            ]
            if let reason, !reason.isEmpty { body["reason"] = .array([FHIRElement.text(reason)]) }
            add(FHIRResource(type: "Provenance", id: event.id.text, body: body, lastUpdated: event.hlc), for: nil)
        }
    }

    /// The person who recorded an event: this Patient, or a practitioner or administrator known by id; a system
    /// author has only its device.
    func authorReference(_ author: Author) -> JSONValue? {
        switch author.role {
        case .patient where author.id == events.patient: patientReference
        case .patient: FHIRElement.logical("Patient", system: "patient", value: author.id.text)
        case .clinician, .admin: FHIRElement.practitioner(author.id)
        case .system: nil
        }
    }

    static func agent(_ type: String, _ who: JSONValue) -> JSONValue {
        .object([
            "type": FHIRElement.concept(FHIRElement.coding(FHIRSystem.hl7("provenance-participant-type"), type)),
            "who": who,
        ])
    }

    static func entity(_ role: String, _ event: String) -> JSONValue {
        .object(["role": .string(role), "what": .object(["identifier": FHIRElement.identifier("event", event)])])
    }
}
