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

    /// The facts in canonical order (ties, which only a fork can make, broken by event id), kept sorted as facts
    /// are inserted: an event arriving in order is appended, so neither the fold nor saving sorts anything.
    public private(set) var canonicalFacts: [ClinicalFact] = []

    /// Adds a fact; adding one already held replaces it in place (the same event gives the same fact).
    public mutating func insert(_ fact: ClinicalFact) {
        if let held = facts[fact.id] {
            let index = Self.insertionIndex(of: held, in: canonicalFacts)
            if index < canonicalFacts.count, canonicalFacts[index].id == held.id { canonicalFacts.remove(at: index) }
        }
        facts[fact.id] = fact
        canonicalFacts.insert(fact, at: Self.insertionIndex(of: fact, in: canonicalFacts))
        foldedHLC = max(foldedHLC, fact.hlc)
    }

    /// The first position whose fact does not come before `fact` (binary search; the end for a fact in order).
    private static func insertionIndex(of fact: ClinicalFact, in ordered: [ClinicalFact]) -> Int {
        if let last = ordered.last, precedes(last, fact) { return ordered.count }
        var low = 0
        var high = ordered.count
        while low < high {
            let middle = (low + high) / 2
            if precedes(ordered[middle], fact) { low = middle + 1 } else { high = middle }
        }
        return low
    }

    /// Canonical order, then event id.
    private static func precedes(_ left: ClinicalFact, _ right: ClinicalFact) -> Bool {
        if ClinicalFact.canonicallyOrdered(left, right) { return true }
        if ClinicalFact.canonicallyOrdered(right, left) { return false }
        return left.id < right.id
    }
}
