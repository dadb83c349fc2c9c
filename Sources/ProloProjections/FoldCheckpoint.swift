import ProloDomain

/// Where the treatment fold stands after a patient's facts: the state before its finishing pass, and the little
/// the rules need to go on (the latest course's first injections, each instrument's first and latest score, the
/// injections, clearances, resolutions and closes seen so far).
///
/// ``run(_:)`` folds a patient's facts from nothing. ``continue(with:)`` folds one more fact in the time of one
/// fact, whatever the history's length, when ``canContinue(with:)`` says the result equals a re-fold: the fact
/// comes strictly later in clinical time than every fact in effect, and nothing folded before could read it
/// differently (it is not a correction or the target of one, not the resolution of a numbness report, not an
/// injection an earlier side-effect report could be about). Canonical order does not matter for such a fact: the
/// fold reads facts in clinical order, and only corrections read canonical order (which of two amendments wins),
/// and corrections never continue. Anything else re-folds the patient, or the facts after a base checkpoint
/// (`TreatmentReadModel`). ``finished()`` gives the state a reader sees. The read model stores a checkpoint per
/// patient (`patient_fold`), and the property tests hold `continue` to the fold from nothing.
struct FoldCheckpoint: Sendable, Hashable {
    /// A fact's place in canonical order and clinical time.
    struct Mark: Sendable, Hashable {
        let id: String
        let origin: String
        let originSeq: Int64
        let hlc: Int64
        let occurredAt: Int64

        init(_ fact: ClinicalFact) {
            self.init(id: fact.id, origin: fact.origin, originSeq: fact.originSeq, hlc: fact.hlc, occurredAt: fact.occurredAt)
        }

        init(id: String, origin: String, originSeq: Int64, hlc: Int64, occurredAt: Int64) {
            self.id = id
            self.origin = origin
            self.originSeq = originSeq
            self.hlc = hlc
            self.occurredAt = occurredAt
        }

        /// Clinical order, as ``ClinicalFact/clinicallyOrdered(_:_:)``.
        func clinicallyPrecedes(_ other: Mark) -> Bool {
            if occurredAt != other.occurredAt { return occurredAt < other.occurredAt }
            return (hlc, origin, originSeq) < (other.hlc, other.origin, other.originSeq)
        }
    }

    /// A planned course and the injections given in it.
    struct Course: Sendable, Hashable {
        let id: String
        let plannedAt: Int64
        let sessions: Int?
        let minWeeks: Int?
        let maxWeeks: Int?
        var close: Close?
        /// Injections given in the course.
        var injectionCount = 0
        /// The first injections, as many as the no-improvement rule counts (at least one).
        var leadingInjections: [Mark] = []
        var lastInjection: Mark?
    }

    /// The first `course.closed` of a course in clinical order.
    struct Close: Sendable, Hashable {
        let id: String
        let occurredAt: Int64
        let reason: String?
    }

    /// An `alert.cleared`.
    struct Clearance: Sendable, Hashable {
        let id: String
        let kind: String
        /// The raising event of the one alert it clears (the first of its `raisedBy`).
        let names: String?
        let at: Int64

        /// Whether this clears `flag` (of clearance kind `kind`): the same kind, the same raising event, and not
        /// before the alert was raised.
        func clears(_ flag: TreatmentState.Flag, as kind: String) -> Bool {
            self.kind == kind && names != nil && names == flag.raisedBy.first && at >= flag.raisedAt
        }
    }

    /// An instrument's first and latest score in clinical order (what the no-improvement rule compares).
    struct Scores: Sendable, Hashable {
        var first: (at: Int64, score: Int)
        var latest: (at: Int64, score: Int)

        static func == (left: Scores, right: Scores) -> Bool {
            left.first == right.first && left.latest == right.latest
        }

        func hash(into hasher: inout Hasher) {
            hasher.combine(first.at)
            hasher.combine(first.score)
            hasher.combine(latest.at)
            hasher.combine(latest.score)
        }
    }

    let policy: TreatmentPolicy
    /// The state before the finishing pass (course summary, clearances, order of flags).
    var state: TreatmentState
    /// Where the latest of the facts in effect stands in clinical order.
    var latest: ClinicalPosition?
    var baselineFromExam = false
    /// Scores by instrument (`nrs`, `odi`, `vas`, `roland-morris`), from exams and `pain.reported`.
    var scores: [String: Scores] = [:]
    /// The body weight of the latest exam that recorded one, in kg.
    var bodyWeightKg: Double?
    /// The latest injection folded so far (in any course), for the interval check.
    var previousInjection: Mark?
    var courses: [Course] = []
    /// Whether the latest consent in clinical order gives consent (`nil`: none recorded).
    var consentGiven: Bool?
    /// Every clearance in effect, in clinical order.
    var clearances: [Clearance] = []
    /// When each resolved side-effect report was resolved.
    var resolutions: [String: Int64] = [:]
    var cancelledSessions: Set<String> = []
    /// The appointment time of each booked session not cancelled (what a cancellation takes back).
    var scheduled: [String: Int64] = [:]
    /// Side-effect reports of numbness: whether it was the lidocaine depends on when they are resolved.
    var numbnessReports: Set<String> = []
    /// The first close of each course id.
    var closes: [String: Close] = [:]
    /// Every injection in effect, in clinical order.
    var injections: [Mark] = []
    /// The latest onset of a side-effect report folded, and the injections reports name.
    var latestReportOnset: Int64?
    var namedInjections: Set<String> = []
    /// Events that a retraction or amendment points at.
    var correctionTargets: Set<String> = []

    /// Nothing folded yet.
    init(patient: PatientID, policy: TreatmentPolicy) {
        self.policy = policy
        state = TreatmentState(patient: patient)
    }

    /// How many of a course's first injections it keeps.
    var leadingCount: Int { max(1, policy.noImprovementSessions) }

    // MARK: Folding

    /// Folds a patient's facts, given in canonical order, from nothing.
    mutating func run(_ canonical: [ClinicalFact]) {
        state.eventCount = canonical.count
        for fact in canonical where fact.isCorrection {
            if let target = fact.data["target"]?.stringValue { correctionTargets.insert(target) }
        }
        let effective = applyCorrections(canonical).sorted(by: ClinicalFact.clinicallyOrdered)
        latest = effective.last?.clinicalPosition
        clearances = effective.compactMap(Self.clearance)
        for fact in effective {
            switch fact.type {
            case .sideEffectResolved:
                if let (report, at) = Self.resolution(fact) { resolutions[report] = at }
            case .sessionCancelled:
                if let session = fact.data["session"]?.stringValue { cancelledSessions.insert(session) }
            case .courseClosed:
                if let course = fact.data["course"]?.stringValue, closes[course] == nil { closes[course] = Self.close(fact) }
            case .injectionAdministered:
                injections.append(Mark(fact))
            default:
                break
            }
        }
        for fact in effective { step(fact) }
    }

    /// Whether folding `fact` onto this checkpoint gives what folding every fact again would.
    func canContinue(with fact: ClinicalFact) -> Bool {
        if let latest, fact.clinicalPosition <= latest { return false }
        if correctionTargets.contains(fact.id) { return false }
        switch fact.type {
        case .eventRetracted, .eventAmended:
            return false  // it changes what earlier facts mean
        case .sideEffectResolved:
            // Closes the report's open side effect; for numbness it can also decide whether that was the lidocaine.
            return Self.resolution(fact).map { !numbnessReports.contains($0.report) } ?? true
        case .injectionAdministered:
            // An earlier report could be about it: by name, or by an onset after it.
            return !namedInjections.contains(fact.id) && (latestReportOnset.map { $0 < fact.occurredAt } ?? true)
        default:
            return true
        }
    }

    /// Folds one more fact, which ``canContinue(with:)`` accepted.
    mutating func `continue`(with fact: ClinicalFact) {
        state.eventCount += 1
        latest = fact.clinicalPosition
        switch fact.type {
        case .alertCleared:
            if let clearance = Self.clearance(fact) { clearances.append(clearance) }
        case .courseClosed:
            if let course = fact.data["course"]?.stringValue, closes[course] == nil {
                let close = Self.close(fact)
                closes[course] = close
                if let index = courses.firstIndex(where: { $0.id == course }) { courses[index].close = close }
            }
        case .injectionAdministered:
            injections.append(Mark(fact))
        case .sideEffectResolved:
            if let (report, at) = Self.resolution(fact) {
                resolutions[report] = at
                state.openSideEffects.removeAll { $0.event == report }
            }
        case .sessionCancelled:
            // The booking's time leaves the upcoming appointments (a multiset of times, as a re-fold leaves it).
            if let session = fact.data["session"]?.stringValue, cancelledSessions.insert(session).inserted,
                let time = scheduled.removeValue(forKey: session),
                let index = state.upcomingAppointments.firstIndex(of: time)
            {
                state.upcomingAppointments.remove(at: index)
            }
        default:
            break
        }
        step(fact)
    }

    /// The state a reader sees: the latest course summarised, clearances applied, flags in order.
    func finished() -> TreatmentState {
        var finishing = self
        finishing.summarise()
        for index in finishing.state.alerts.indices {
            finishing.state.alerts[index].clearedBy = finishing.clearer(of: finishing.state.alerts[index])
        }
        for index in finishing.state.reviewFlags.indices {
            finishing.state.reviewFlags[index].clearedBy = finishing.clearer(of: finishing.state.reviewFlags[index])
        }
        finishing.state.alerts.sort(by: Self.flagOrder)
        finishing.state.reviewFlags.sort(by: Self.flagOrder)
        finishing.state.upcomingAppointments.sort()
        return finishing.state
    }

    // MARK: Corrections

    /// Drops retracted facts and corrections, and replaces amended payloads.
    private mutating func applyCorrections(_ canonical: [ClinicalFact]) -> [ClinicalFact] {
        let retracted = Self.retractedIDs(canonical)
        var amendments: [String: [ClinicalFact]] = [:]
        for fact in canonical where fact.type == .eventAmended && !retracted.contains(fact.id) {
            if let target = fact.data["target"]?.stringValue { amendments[target, default: []].append(fact) }
        }
        var effective: [ClinicalFact] = []
        for fact in canonical {
            if retracted.contains(fact.id) {
                state.retracted.append(fact.id)
                continue
            }
            if fact.isCorrection { continue }
            let corrections = (amendments[fact.id] ?? []).filter { $0.data["targetType"]?.stringValue == fact.type.rawValue }
            guard let last = corrections.last, let payload = last.data["payload"] else {
                effective.append(fact)
                continue
            }
            state.amended.append(fact.id)
            effective.append(fact.replacingData(payload))
            if Set(corrections.map(\.origin)).count > 1 {
                review("conflicting-amendments", by: [fact.id] + corrections.map(\.id), at: last.occurredAt)
            }
        }
        return effective
    }

    /// The events whose effect is removed: targets of retractions that are not themselves retracted, to any
    /// depth (retracting a retraction restores its target; retracting that one retracts it again).
    private static func retractedIDs(_ canonical: [ClinicalFact]) -> Set<String> {
        var retractionsOf: [String: [String]] = [:]
        for fact in canonical where fact.type == .eventRetracted {
            if let target = fact.data["target"]?.stringValue { retractionsOf[target, default: []].append(fact.id) }
        }
        var memo: [String: Bool] = [:]
        func isRetracted(_ id: String, _ visiting: Set<String>) -> Bool {
            if let known = memo[id] { return known }
            guard !visiting.contains(id) else { return false }  // a cycle of forged references: no effect
            let result = (retractionsOf[id] ?? []).contains { !isRetracted($0, visiting.union([id])) }
            memo[id] = result
            return result
        }
        return Set(retractionsOf.keys.filter { isRetracted($0, []) })
    }

    private static func clearance(_ fact: ClinicalFact) -> Clearance? {
        guard fact.type == .alertCleared, let kind = fact.data["alertKind"]?.stringValue else { return nil }
        let names = fact.data["raisedBy"]?.arrayValue?.first?.stringValue
        return Clearance(id: fact.id, kind: kind, names: names, at: fact.occurredAt)
    }

    /// The report a `side-effect.resolved` resolves, and when (its `resolvedAt`, else when it was recorded).
    private static func resolution(_ fact: ClinicalFact) -> (report: String, at: Int64)? {
        guard fact.type == .sideEffectResolved, let report = fact.data["report"]?.stringValue else { return nil }
        let at = fact.data["resolvedAt"]?.stringValue.flatMap { try? Timestamp(checked: $0) }?.millisecondsSinceEpoch
        return (report, at ?? fact.occurredAt)
    }

    private static func close(_ fact: ClinicalFact) -> Close {
        Close(id: fact.id, occurredAt: fact.occurredAt, reason: fact.data["reason"]?.stringValue)
    }
}
