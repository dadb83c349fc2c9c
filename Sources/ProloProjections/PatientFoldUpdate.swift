import ProloDomain
package import ProloStore

/// How one patient's read model takes the events a transaction appended, whichever backend keeps its rows: the
/// rule of ``TreatmentReadModel`` (SQLite) and of the PostgreSQL hub's read model, once. The backend reads what
/// ``next()`` asks for and writes the ``PatientRows`` it ends with; nothing here touches a database.
///
/// The paths, cheapest first: every arrived fact continues the stored checkpoint (the time of one fact each); else
/// every fact after the base checkpoint's clinical time is folded onto the base (placing a new base when they have
/// grown past twice ``baseLag``); else the patient's foldable facts are folded from nothing, which places a new base.
package struct PatientFoldUpdate: Sendable {
    /// How many of the patient's latest facts a base checkpoint leaves after it when it is placed.
    package static let baseLag = 32

    /// What the backend reads next for this patient.
    package enum Need: Sendable, Equatable {
        /// The stored base checkpoint (`patient_fold_base`): ``supplyBase(throughMs:checkpoint:)``.
        case base
        /// The patient's foldable facts whose derived `occurred_ms` is after this (ms): ``supplyFacts(_:)``.
        case factsAfter(Int64)
        /// Every foldable fact of the patient: ``supplyFacts(_:)``.
        case allFacts
    }

    /// A read the backend performs, or the rows it writes.
    package enum Step: Sendable {
        case read(Need)
        case write(PatientRows)
    }

    package let patient: PatientID
    let policy: TreatmentPolicy
    let arrived: [ClinicalFact]
    let before: FoldCheckpoint?
    private var base: FoldBase??
    private var factsAfterBase: [ClinicalFact]?
    private var allFacts: PatientFacts?

    /// `checkpoint`: the patient's stored `patient_fold.checkpoint` bytes, if any.
    package init(patient: PatientID, arrived: [ClinicalFact], checkpoint: [UInt8]?, policy: TreatmentPolicy)
        throws(StoreError)
    {
        self.patient = patient
        self.arrived = arrived
        self.policy = policy
        self.before = try checkpoint.map { bytes throws(StoreError) in try Self.decoded(bytes, of: patient, policy: policy) }
    }

    /// The stored base (`nil`: the patient has none), when asked for or fetched ahead.
    package mutating func supplyBase(throughMs: Int64?, checkpoint: [UInt8]?) throws(StoreError) {
        guard let throughMs, let checkpoint else {
            base = .some(nil)
            return
        }
        base = FoldBase(throughMs: throughMs, checkpoint: try Self.decoded(checkpoint, of: patient, policy: policy))
    }

    /// The facts the last ``Need`` asked for (the arrived ones among them: they are in the log already).
    package mutating func supplyFacts(_ facts: [ClinicalFact]) {
        if asked == .allFacts {
            var all = PatientFacts(patient: patient)
            for fact in facts { all.insert(fact) }
            allFacts = all
        } else {
            factsAfterBase = facts
        }
    }

    /// What ``next()`` asked for last.
    private var asked: Need?

    /// The next read, or the rows to write.
    package mutating func next() -> Step {
        let step = decide()
        if case .read(let need) = step { asked = need }
        return step
    }

    private func decide() -> Step {
        if let allFacts {
            return .write(Self.refolded(allFacts, policy: policy, replacing: before))
        }
        if asked == nil, let continued = Self.continuing(before, with: arrived) {
            return .write(PatientRows(continued, replacing: before, base: .keep))
        }
        guard let base else { return .read(.base) }
        guard let stored = base, arrived.allSatisfy({ $0.occurredAt > stored.throughMs && !$0.isCorrection }) else {
            return .read(.allFacts)
        }
        guard let factsAfterBase else { return .read(.factsAfter(stored.throughMs)) }
        guard let (checkpoint, rebased) = Self.onto(stored, factsAfterBase) else { return .read(.allFacts) }
        return .write(PatientRows(checkpoint, replacing: before, base: rebased.map { .placing($0) } ?? .keep))
    }

    /// The patient's rows folded from nothing out of `facts` (a re-fold, a rebuild), with a new base placed.
    package static func refolded(_ facts: PatientFacts, policy: TreatmentPolicy) -> PatientRows {
        refolded(facts, policy: policy, replacing: nil)
    }

    private static func refolded(_ facts: PatientFacts, policy: TreatmentPolicy, replacing before: FoldCheckpoint?)
        -> PatientRows
    {
        PatientRows(
            TreatmentFold.checkpoint(of: facts, policy: policy), replacing: before,
            base: .placing(FoldBase.behind(facts, lag: baseLag, policy: policy)))
    }

    /// `before` continued with every arrived fact in order; `nil` when there is none or a fact cannot continue it.
    static func continuing(_ before: FoldCheckpoint?, with arrived: [ClinicalFact]) -> FoldCheckpoint? {
        guard var checkpoint = before else { return nil }
        for fact in arrived {
            guard checkpoint.canContinue(with: fact) else { return nil }
            checkpoint.continue(with: fact)
        }
        return checkpoint
    }

    /// The facts after `base` folded onto it, and a new base when they have grown past twice ``baseLag``; `nil`
    /// when one cannot continue (a correction's target, a resolution or an injection an earlier fact reads).
    ///
    /// `candidates` were selected by the derived `occurred_ms` column; the signed `occurredAt` decides (a row whose
    /// two differ, which `audit verify` reports, is left to the base when its signed time is not after it). Every
    /// correction is in the base already (a new one re-folds the patient, which places a new base).
    static func onto(_ base: FoldBase, _ candidates: [ClinicalFact]) -> (FoldCheckpoint, FoldBase?)? {
        let facts = candidates.filter { $0.occurredAt > base.throughMs && !$0.isCorrection }
            .sorted(by: ClinicalFact.clinicallyOrdered)
        let rebaseThrough = facts.count > 2 * baseLag ? facts.count - baseLag : nil
        var checkpoint = base.checkpoint
        var rebased: FoldBase?
        for (index, fact) in facts.enumerated() {
            guard checkpoint.canContinue(with: fact) else { return nil }
            checkpoint.continue(with: fact)
            if let rebaseThrough, rebased == nil, index + 1 >= rebaseThrough, index + 1 < facts.count,
                facts[index + 1].occurredAt > fact.occurredAt
            {
                rebased = FoldBase(throughMs: fact.occurredAt, checkpoint: checkpoint)
            }
        }
        return (checkpoint, rebased)
    }

    /// The facts of the appended events about a patient, grouped by patient in order of first appearance; each
    /// payload inflated and parsed on every core.
    package static func arrived(_ events: [StoredEvent]) throws(StoreError) -> [(patient: PatientID, facts: [ClinicalFact])] {
        let patientEvents = events.map(\.event).filter { $0.patient != nil }
        let facts: [ClinicalFact]
        do {
            facts = try Parallel.map(patientEvents, minimumPerWorker: 32) { event in try fact(of: event) }
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(.internalError, "cannot read the facts of the events appended: \(error)")
        }
        var order: [PatientID] = []
        var byPatient: [PatientID: [ClinicalFact]] = [:]
        for (event, fact) in zip(patientEvents, facts) {
            guard let patient = event.patient else { continue }
            if byPatient[patient] == nil { order.append(patient) }
            byPatient[patient, default: []].append(fact)
        }
        return order.map { ($0, byPatient[$0] ?? []) }
    }

    /// The fact of a stored event, its unreadable body an I/O error.
    package static func fact(of event: Event) throws(StoreError) -> ClinicalFact {
        do {
            return try ClinicalFact(event: event)
        } catch {
            throw StoreError(.ioError, error.message)
        }
    }

    /// The treatment state a reader sees from a patient's stored checkpoint bytes.
    package static func state(of patient: PatientID, checkpoint bytes: [UInt8], policy: TreatmentPolicy)
        throws(StoreError) -> TreatmentState
    {
        try decoded(bytes, of: patient, policy: policy).finished()
    }

    /// A stored checkpoint's bytes read back; damaged bytes are an I/O error whose message says to rebuild.
    static func decoded(_ bytes: [UInt8], of patient: PatientID, policy: TreatmentPolicy) throws(StoreError)
        -> FoldCheckpoint
    {
        do {
            return try FoldCheckpoint(patient: patient, policy: policy, encoded: bytes)
        } catch {
            throw StoreError(.ioError, error.message)
        }
    }
}
