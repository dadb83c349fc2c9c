import ProloDomain

/// A patient's fold some facts behind the latest (`patient_fold_base`): every foldable fact with
/// `occurredAt` at or before ``throughMs`` folded, none after. A fact recorded before the patient's latest but after
/// the base is folded, with the facts after the base in clinical order, onto it (``FoldCheckpoint/continue(with:)``
/// each), instead of folding the patient's whole history again.
struct FoldBase: Sendable, Hashable {
    /// The clinical time (ms) the base holds every fact up to.
    let throughMs: Int64
    let checkpoint: FoldCheckpoint

    /// A base with the latest `lag` of `facts` after it (fewer where clinical times tie at its edge, none after a
    /// correction), or `nil` when there are not more facts than that.
    /// The base also holds every correction: a correction cannot be folded onto a checkpoint, so one after the base
    /// would send every later late event back to a whole re-fold.
    static func behind(_ facts: PatientFacts, lag: Int, policy: TreatmentPolicy) -> FoldBase? {
        let canonical = facts.canonicalFacts
        guard canonical.count > lag else { return nil }
        let times = canonical.map(\.occurredAt).sorted()
        var through = times[times.count - 1 - lag]
        for fact in canonical where fact.type == .eventRetracted || fact.type == .eventAmended {
            through = max(through, fact.occurredAt)
        }
        var checkpoint = FoldCheckpoint(patient: facts.patient, policy: policy)
        checkpoint.run(canonical.filter { $0.occurredAt <= through })
        return FoldBase(throughMs: through, checkpoint: checkpoint)
    }
}
