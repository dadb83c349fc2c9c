public import ProloDomain

/// Everything one patient's events contribute to the treatment state, as a set keyed by event id.
///
/// Inserting the same events in any order gives the same value, so a late or re-sent event never changes the
/// result of folding; ``TreatmentFold`` derives the state from it.
public struct PatientFacts: Sendable, Hashable {
    /// The patient.
    public let patient: PatientID
    /// The facts by event id.
    public private(set) var facts: [String: ClinicalFact] = [:]
    /// The highest HLC folded in so far (packed), to tell an in-order arrival from a late one.
    public private(set) var foldedHLC: Int64 = 0

    /// No facts yet.
    public init(patient: PatientID) {
        self.patient = patient
    }

    /// Adds a fact; adding one already held changes nothing.
    public mutating func insert(_ fact: ClinicalFact) {
        facts[fact.id] = fact
        foldedHLC = max(foldedHLC, fact.hlc)
    }

    /// The facts in canonical order.
    public var canonicalFacts: [ClinicalFact] {
        facts.values.sorted(by: ClinicalFact.canonicallyOrdered)
    }

    /// Canonical JSON of the facts in canonical order: equal sets give equal bytes.
    var encoded: [UInt8] {
        CanonicalJSON.encode(.array(canonicalFacts.map(\.jsonValue)))
    }

    /// Reads what ``encoded`` wrote.
    init(patient: PatientID, encoded bytes: [UInt8]) throws(ProjectionError) {
        self.init(patient: patient)
        let value: JSONValue
        do {
            value = try JSONParser.parse(bytes)
        } catch {
            throw ProjectionError("the stored facts of patient \(patient) are damaged: \(error); run prolo rebuild")
        }
        guard case .array(let elements) = value else {
            throw ProjectionError("the stored facts of patient \(patient) are not a list; run prolo rebuild")
        }
        for element in elements { insert(try ClinicalFact(jsonValue: element)) }
    }
}
