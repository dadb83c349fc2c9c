import ProloDomain

/// A patient's fold some facts behind the latest (`patient_fold_base`): every foldable fact with
/// `occurredAt` at or before ``throughMs`` folded, none after, and every correction. A fact recorded before the patient's latest but after
/// the base is folded, with the facts after the base in clinical order, onto it (``FoldCheckpoint/continue(with:)``
/// each), instead of folding the patient's whole history again.
struct FoldBase: Sendable, Hashable {
    /// The clinical time (ms) the base holds every fact up to.
    let throughMs: Int64
    let checkpoint: FoldCheckpoint

    /// A base with the latest `lag` of `facts` after it, or `nil` when there are not more facts than that.
    ///
    /// The base folds every correction (retraction, amendment) in the log, whatever its clinical time: a correction
    /// is never a step of the fold, it changes what its target says, so the facts after the base can be folded onto
    /// it one by one only when no correction is among them and none of them is a correction's target. The base's
    /// edge moves later to hold every target, and to where clinical times do not tie.
    static func behind(_ facts: PatientFacts, lag: Int, policy: TreatmentPolicy) -> FoldBase? {
        let canonical = facts.canonicalFacts
        let steps = canonical.filter { !$0.isCorrection }
        guard steps.count > lag else { return nil }
        let times = steps.map(\.occurredAt).sorted()
        var through = times[times.count - 1 - lag]
        let targets = Set(canonical.filter(\.isCorrection).compactMap { $0.data["target"]?.stringValue })
        for fact in steps where targets.contains(fact.id) { through = max(through, fact.occurredAt) }
        var checkpoint = FoldCheckpoint(patient: facts.patient, policy: policy)
        checkpoint.run(canonical.filter { $0.isCorrection || $0.occurredAt <= through })
        return FoldBase(throughMs: through, checkpoint: checkpoint)
    }
}

extension ClinicalFact {
    /// A retraction or an amendment: it changes what another fact says, and is never a step of the fold itself.
    var isCorrection: Bool { type == .eventRetracted || type == .eventAmended }
}
