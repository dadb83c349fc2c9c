import Foundation
public import ProloDomain

/// A FHIR resource's members as the export builds them.
public typealias FHIRObject = [String: JSONValue]

/// Small builders for the FHIR data types the export writes (Coding, CodeableConcept, Reference, Quantity,
/// extensions), so every resource spells them the same way.
enum FHIRElement {
    /// A Coding.
    static func coding(_ system: String, _ code: String, _ display: String? = nil) -> JSONValue {
        var members: FHIRObject = ["system": .string(system), "code": .string(code)]
        if let display { members["display"] = .string(display) }
        return .object(members)
    }

    /// A Coding of a local code system.
    static func local(_ system: String, _ code: String) -> JSONValue { coding(FHIRSystem.local(system), code) }

    /// A CodeableConcept of codings that mean the same thing, with an optional text.
    static func concept(_ codings: JSONValue..., text: String? = nil) -> JSONValue {
        var members: FHIRObject = [:]
        if !codings.isEmpty { members["coding"] = .array(codings) }
        if let text { members["text"] = .string(text) }
        return .object(members)
    }

    /// A CodeableConcept of one local code.
    static func localConcept(_ system: String, _ code: String, text: String? = nil) -> JSONValue {
        concept(local(system, code), text: text)
    }

    /// A CodeableConcept with text only.
    static func text(_ text: String) -> JSONValue { .object(["text": .string(text)]) }

    /// A literal reference to a resource in the same Bundle (`Type/id`).
    static func reference(_ key: String) -> JSONValue { .object(["reference": .string(key)]) }

    /// A logical reference by identifier, for what the Bundle does not hold (a practitioner, an event left out).
    static func logical(_ type: String?, system: String, value: String) -> JSONValue {
        var members: FHIRObject = [
            "identifier": .object(["system": .string(FHIRSystem.identifier(system)), "value": .string(value)])
        ]
        if let type { members["type"] = .string(type) }
        return .object(members)
    }

    /// The practitioner Prolo knows only by id.
    static func practitioner(_ id: Identifier) -> JSONValue {
        logical("Practitioner", system: "practitioner", value: id.text)
    }

    /// An Identifier.
    static func identifier(_ system: String, _ value: String) -> JSONValue {
        .object(["system": .string(FHIRSystem.identifier(system)), "value": .string(value)])
    }

    /// A UCUM Quantity.
    static func quantity(_ value: Double, _ unit: String) -> JSONValue {
        .object([
            "value": decimal(value), "unit": .string(unit), "system": .string(FHIRSystem.ucum), "code": .string(unit),
        ])
    }

    /// A decimal: an integer when it has no fraction, so `3` is not written `3.0`.
    static func decimal(_ value: Double) -> JSONValue {
        if value.rounded() == value, let exact = Int64(exactly: value) { return .int(exact) }
        return .double(value)
    }

    /// An extension of Prolo's with one value (`valueBoolean`, `valueCoding` …).
    static func localExtension(_ name: String, _ valueKey: String, _ value: JSONValue) -> JSONValue {
        .object(["url": .string(FHIRSystem.localExtension(name)), valueKey: value])
    }

    /// A FHIR instant from a hybrid logical clock reading (its wall-clock part).
    static func instant(_ hlc: HLC) -> String { Timestamp(millisecondsSinceEpoch: hlc.wallMilliseconds).text }

    /// A FHIR dateTime from milliseconds since the epoch.
    static func dateTime(_ milliseconds: Int64) -> String { Timestamp(millisecondsSinceEpoch: milliseconds).text }

    /// The elements of an array member; none when it is absent.
    static func items(_ value: JSONValue?) -> [JSONValue] {
        if case .array(let items)? = value { return items }
        return []
    }

    /// An Annotation.
    static func note(_ text: String) -> JSONValue { .object(["text": .string(text)]) }

    /// A CodeableConcept for a side of the body: SNOMED laterality where there is one (✔ in the mapping), and
    /// always the local code.
    static func side(_ side: Side) -> JSONValue {
        let local = FHIRElement.local("side", side.rawValue)
        switch side {
        case .left: return concept(coding(FHIRSystem.snomed, "7771000", "Left"), local, text: "left")
        case .right: return concept(coding(FHIRSystem.snomed, "24028007", "Right"), local, text: "right")
        case .bilateral: return concept(coding(FHIRSystem.snomed, "51440002", "Bilateral"), local, text: "bilateral")
        case .midline: return concept(local, text: "midline")
        }
    }

    /// A body site: the local structure code, with the side and (for segmental structures) the level as extensions.
    static func site(_ code: String, side: Side, level: SpinalLevel?, system: String = "back-structure") -> JSONValue {
        var extensions: [JSONValue] = [localExtension("laterality", "valueCodeableConcept", FHIRElement.side(side))]
        if let level {
            extensions.append(localExtension("spinal-level", "valueCoding", local("spinal-level", level.rawValue)))
        }
        let text = [code.replacingOccurrences(of: "-", with: " "), level?.rawValue, side.rawValue].compactMap { $0 }
            .joined(separator: ", ")
        return .object([
            "coding": .array([local(system, code)]), "text": .string(text), "extension": .array(extensions),
        ])
    }
}
