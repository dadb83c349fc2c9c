public import ProloDomain

/// The pure fold of the treatment projection: a patient's facts in, that patient's treatment state out.
///
/// No SQLite and no clock inside. Rules, all on the value of ``TreatmentPolicy``:
/// - **Corrections by recording order.** `event.retracted` removes its target's effect (alerts it raised
///   disappear; a retraction of a retraction restores the first target). `event.amended` replaces its target's
///   payload; with several amendments the last in canonical order wins, and amendments of one event from
///   different devices (which cannot have followed each other) raise `conflicting-amendments`.
/// - **Clinical facts on the clinical time axis.** Consent, exams, pain, injections and side effects are read in
///   `occurredAt` order (ties in canonical order), so a back-entered exam does not become the latest one.
/// - Each injection belongs to the latest course planned before it; a session is counted only from
///   `injection.administered`. Facts are never dropped: disagreeing facts stay in the state and raise a
///   review flag (`possible-duplicate`, `conflicting-amendments`, `after-close`).
/// - `alert.cleared` clears the one alert of its kind it names: the alert's raising event (the first of its
///   `raisedBy`) is the first of the clearance's `raisedBy`, and the clearance happened at or after the alert was
///   raised; a clearance never reaches a later alert that merely shares an injection. `merge-review` clears review
///   flags the same way. An injection checks red flags cleared *before* it was given.
public enum TreatmentFold {
    /// Folds events (any order) into a state. Events whose payload this build cannot read
    /// (`Event.unreadablePayload`) are left out, as the read models leave them out.
    public static func state(
        of patient: PatientID, events: [Event], policy: TreatmentPolicy = .standard
    ) throws(ProjectionError) -> TreatmentState {
        var facts = PatientFacts(patient: patient)
        // An event this build cannot read is held out of the fold, as the read models hold it out (DESIGN §6).
        for event in events where event.patient == patient && event.unreadablePayload == nil {
            facts.insert(try ClinicalFact(event: event))
        }
        return state(of: facts, policy: policy)
    }

    /// Derives the state from a patient's facts.
    public static func state(of patientFacts: PatientFacts, policy: TreatmentPolicy = .standard) -> TreatmentState {
        var derivation = Derivation(patient: patientFacts.patient, policy: policy)
        derivation.run(patientFacts.canonicalFacts)
        return derivation.state
    }
}

/// One run of the fold; its steps share the facts and the state being built.
private struct Derivation {
    let policy: TreatmentPolicy
    var state: TreatmentState
    private var baselineFromExam = false

    private struct Course {
        let id: String
        let plannedAt: Int64
        let sessions: Int?
        let minWeeks: Int?
        let maxWeeks: Int?
        var injections: [ClinicalFact] = []
        var close: ClinicalFact?
    }

    private struct Clearance {
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

    private static let dayMs: Int64 = 86_400_000
    private static let neurologicalKinds: Set<String> = ["numbness", "weakness", "saddle-anaesthesia", "bladder-bowel-change"]
    private static let reviewKinds: Set<String> = ["possible-duplicate", "conflicting-amendments", "after-close"]

    init(patient: PatientID, policy: TreatmentPolicy) {
        self.policy = policy
        state = TreatmentState(patient: patient)
    }

    mutating func run(_ canonical: [ClinicalFact]) {
        state.eventCount = canonical.count
        let effective = applyCorrections(canonical).sorted(by: ClinicalFact.clinicallyOrdered)
        let clearances = effective.compactMap(Self.clearance)
        let resolvedReports = Set(effective.filter { $0.type == .sideEffectResolved }.compactMap { $0.data["report"]?.stringValue })
        let cancelledSessions = Set(effective.filter { $0.type == .sessionCancelled }.compactMap { $0.data["session"]?.stringValue })
        var closes: [String: ClinicalFact] = [:]
        for fact in effective where fact.type == .courseClosed {
            if let course = fact.data["course"]?.stringValue, closes[course] == nil { closes[course] = fact }
        }
        let injections = effective.filter { $0.type == .injectionAdministered }

        var courses: [Course] = []
        var consentTimeline: [(at: Int64, given: Bool)] = []
        for fact in effective {
            switch fact.type {
            case .consentRecorded:
                let given = fact.data["status"]?.stringValue == "given"
                consentTimeline.append((fact.occurredAt, given))
                state.consent = given ? .given : .withdrawn
            case .coursePlanned:
                let interval = fact.data["interval"]
                courses.append(
                    Course(
                        id: fact.id, plannedAt: fact.occurredAt, sessions: fact.data["sessions"]?.intValue,
                        minWeeks: interval?["minWeeks"]?.intValue, maxWeeks: interval?["maxWeeks"]?.intValue,
                        close: closes[fact.id]))
            case .examRecorded:
                readPain(nrs: fact.data["painNRS"]?.intValue, odi: fact.data["odi"]?.intValue, isExam: true)
                let flags = fact.data["redFlags"]
                if ["saddleAnaesthesia", "bladderBowelDysfunction", "progressiveNeurologicalDeficit"].contains(where: {
                    flags?[$0] == .bool(true)
                }) {
                    raise(AlertKind.neurologicalRedFlag.rawValue, by: [fact.id], at: fact.occurredAt)
                }
            case .painReported:
                let score = fact.data["score"]?.intValue
                switch fact.data["instrument"]?.stringValue {
                case "nrs": readPain(nrs: score, odi: nil, isExam: false)
                case "odi": readPain(nrs: nil, odi: score, isExam: false)
                default: break
                }
            case .injectionAdministered:
                injected(fact, courses: &courses, consent: consentTimeline, clearances: clearances, all: injections)
            case .sideEffectReported:
                reported(fact, injections: injections, resolved: resolvedReports)
            case .adjunctTherapyRecorded:
                if let therapy = fact.data["therapy"]?.stringValue { state.adjunctTherapies[therapy, default: 0] += 1 }
            case .sessionScheduled:
                if !cancelledSessions.contains(fact.id), let at = fact.data["appointmentAt"]?.stringValue,
                    let time = try? Timestamp(checked: at)
                {
                    state.upcomingAppointments.append(time.millisecondsSinceEpoch)
                }
            default:
                break
            }
        }
        summarise(courses)
        for index in state.alerts.indices { state.alerts[index].clearedBy = clearer(of: state.alerts[index], clearances) }
        for index in state.reviewFlags.indices {
            state.reviewFlags[index].clearedBy = clearer(of: state.reviewFlags[index], clearances)
        }
        state.alerts.sort(by: Self.flagOrder)
        state.reviewFlags.sort(by: Self.flagOrder)
        state.upcomingAppointments.sort()
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
            if fact.type == .eventRetracted || fact.type == .eventAmended { continue }
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

    // MARK: Clinical facts

    /// Baseline is the first exam's NRS and ODI; before any exam, the first report of each stands in.
    private mutating func readPain(nrs: Int?, odi: Int?, isExam: Bool) {
        if isExam {
            if !baselineFromExam {
                baselineFromExam = true
                state.baselinePain = TreatmentState.Pain(nrs: nrs, odi: odi)
            }
        } else if !baselineFromExam {
            if state.baselinePain.nrs == nil, let nrs { state.baselinePain.nrs = nrs }
            if state.baselinePain.odi == nil, let odi { state.baselinePain.odi = odi }
        }
        if let nrs { state.latestPain.nrs = nrs }
        if let odi { state.latestPain.odi = odi }
    }

    private mutating func injected(
        _ fact: ClinicalFact, courses: inout [Course], consent: [(at: Int64, given: Bool)], clearances: [Clearance],
        all injections: [ClinicalFact]
    ) {
        state.injectionsTotal += 1
        if !(consent.last { $0.at <= fact.occurredAt }?.given ?? false) {
            raise(AlertKind.injectionWithoutConsent.rawValue, by: [fact.id], at: fact.occurredAt)
        }
        for flag in state.alerts
        where (flag.kind == AlertKind.neurologicalRedFlag.rawValue || flag.kind == AlertKind.possibleInfection.rawValue)
            && flag.raisedAt <= fact.occurredAt
            && !clearances.contains(where: { $0.at <= fact.occurredAt && $0.clears(flag, as: flag.kind) })
        {
            raise(AlertKind.injectionWhileRedFlag.rawValue, by: [fact.id] + flag.raisedBy, at: fact.occurredAt)
        }
        let sameDay = TreatmentState.day(of: fact.occurredAt)
        for other in injections
        where other.origin != fact.origin && TreatmentState.day(of: other.occurredAt) == sameDay
            && ClinicalFact.clinicallyOrdered(other, fact)
        {
            review("possible-duplicate", by: [other.id, fact.id], at: fact.occurredAt)
        }
        guard let index = courses.lastIndex(where: { $0.plannedAt <= fact.occurredAt }) else { return }
        if let previous = courses[index].injections.last, let minWeeks = courses[index].minWeeks,
            fact.occurredAt - previous.occurredAt < Int64(minWeeks) * 7 * Self.dayMs
        {
            raise(AlertKind.sessionTooSoon.rawValue, by: [fact.id, previous.id], at: fact.occurredAt)
        }
        courses[index].injections.append(fact)
        if courses[index].injections.count > policy.sessionCap {
            raise(AlertKind.sessionCap.rawValue, by: [fact.id], at: fact.occurredAt)
        }
        if let close = courses[index].close, close.occurredAt < fact.occurredAt {
            review("after-close", by: [fact.id, close.id], at: fact.occurredAt)
        }
    }

    private mutating func reported(_ fact: ClinicalFact, injections: [ClinicalFact], resolved: Set<String>) {
        let data = fact.data
        let kinds = (data["kinds"]?.arrayValue ?? []).compactMap(\.stringValue)
        let grade = data["grade"]?.intValue ?? 0
        let temperature = data["temperatureC"]?.doubleValue
        let onset = data["onset"]?.stringValue.flatMap { try? Timestamp(checked: $0) }?.millisecondsSinceEpoch
            ?? fact.occurredAt
        let named = data["relatedInjection"]?.stringValue.flatMap { id in injections.first { $0.id == id } }
        let latestBeforeOnset = injections.last { $0.occurredAt <= onset }
        let related = named ?? latestBeforeOnset
        let days = related.map { daysBetween($0.occurredAt, onset) }
        if grade >= policy.seriousGrade {
            raise(AlertKind.seriousAdverseEvent.rawValue, by: [fact.id], at: fact.occurredAt)
        }
        if kinds.contains(where: Self.neurologicalKinds.contains) {
            raise(AlertKind.neurologicalRedFlag.rawValue, by: [fact.id], at: fact.occurredAt)
        }
        let fever = kinds.contains("fever") || (temperature.map { $0 >= policy.feverThresholdC } ?? false)
        let severe = kinds.contains("intense-pain") || grade >= policy.seriousGrade
        // The window counts calendar days (UTC), inclusive: an injection on day 0 covers onsets up to day 14. The
        // latest injection before onset is looked at as well as the named one: naming an older injection does not
        // hide the one given two days before.
        let suspects = [latestBeforeOnset, named].compactMap { $0 }.filter {
            $0.occurredAt <= onset && daysBetween($0.occurredAt, onset) <= policy.infectionWindowDays
        }
        if fever, severe, let suspect = suspects.first {
            raise(AlertKind.possibleInfection.rawValue, by: [fact.id, suspect.id], at: fact.occurredAt)
        }
        if !resolved.contains(fact.id) {
            state.openSideEffects.append(
                TreatmentState.OpenSideEffect(
                    event: fact.id, grade: grade, kinds: kinds, onset: onset, temperatureC: temperature,
                    injection: related?.id, daysSinceInjection: days))
        }
    }

    /// Whole calendar days (UTC) from `start` to `end`, never negative.
    private func daysBetween(_ start: Int64, _ end: Int64) -> Int {
        Int(max(0, TreatmentState.day(of: end) - TreatmentState.day(of: start)))
    }

    // MARK: Course summary

    private mutating func summarise(_ courses: [Course]) {
        let nrsDrop = percentDrop(state.baselinePain.nrs, state.latestPain.nrs)
        let odiDrop = percentDrop(state.baselinePain.odi, state.latestPain.odi)
        state.improvementPercent = TreatmentState.ImprovementPercent(nrs: nrsDrop, odi: odiDrop)
        state.responder = [nrsDrop, odiDrop].contains { ($0 ?? -.infinity) >= policy.responderDropPercent }
        guard let course = courses.last else { return }
        state.course = course.id
        state.sessionsPlanned = course.sessions
        state.sessionsCompleted = course.injections.count
        state.firstInjectionAt = course.injections.first?.occurredAt
        state.lastInjectionAt = course.injections.last?.occurredAt
        if let close = course.close {
            state.courseStatus = .closed
            state.closingReason = close.data["reason"]?.stringValue
        } else {
            state.courseStatus = .active
            if let last = state.lastInjectionAt, let minWeeks = course.minWeeks, let maxWeeks = course.maxWeeks,
                state.sessionsCompleted < (course.sessions ?? Int.max)
            {
                state.nextDue = TreatmentState.Window(
                    from: last + Int64(minWeeks) * 7 * Self.dayMs, to: last + Int64(maxWeeks) * 7 * Self.dayMs)
            }
        }
        let improved = [nrsDrop, odiDrop].contains { ($0 ?? 0) > 0 }
        if course.injections.count >= policy.noImprovementSessions, !improved {
            let nth = course.injections[policy.noImprovementSessions - 1]
            raise(AlertKind.noImprovement.rawValue, by: [nth.id], at: nth.occurredAt)
        }
    }

    private func percentDrop(_ baseline: Int?, _ latest: Int?) -> Double? {
        guard let baseline, let latest, baseline > 0 else { return nil }
        return (Double(baseline - latest) / Double(baseline) * 1000).rounded() / 10
    }

    // MARK: Flags

    private mutating func raise(_ kind: String, by events: [String], at time: Int64) {
        guard !state.alerts.contains(where: { $0.kind == kind && $0.raisedBy == events }) else { return }
        state.alerts.append(TreatmentState.Flag(kind: kind, raisedBy: events, raisedAt: time))
    }

    private mutating func review(_ kind: String, by events: [String], at time: Int64) {
        guard !state.reviewFlags.contains(where: { $0.kind == kind && $0.raisedBy == events }) else { return }
        state.reviewFlags.append(TreatmentState.Flag(kind: kind, raisedBy: events, raisedAt: time))
    }

    private static func flagOrder(_ left: TreatmentState.Flag, _ right: TreatmentState.Flag) -> Bool {
        let leftKey = (left.raisedAt, left.kind, left.raisedBy.joined(separator: ","))
        let rightKey = (right.raisedAt, right.kind, right.raisedBy.joined(separator: ","))
        return leftKey < rightKey
    }

    private static func clearance(_ fact: ClinicalFact) -> Clearance? {
        guard fact.type == .alertCleared, let kind = fact.data["alertKind"]?.stringValue else { return nil }
        let names = fact.data["raisedBy"]?.arrayValue?.first?.stringValue
        return Clearance(id: fact.id, kind: kind, names: names, at: fact.occurredAt)
    }

    private func clearer(of flag: TreatmentState.Flag, _ clearances: [Clearance]) -> String? {
        let kind = Self.reviewKinds.contains(flag.kind) ? AlertKind.mergeReview.rawValue : flag.kind
        return clearances.first { $0.clears(flag, as: kind) }?.id
    }
}

extension JSONValue {
    var intValue: Int? {
        if case .int(let value) = self { return Int(value) }
        return nil
    }

    var doubleValue: Double? {
        switch self {
        case .int(let value): Double(value)
        case .double(let value): value
        default: nil
        }
    }

    var arrayValue: [JSONValue]? {
        if case .array(let elements) = self { return elements }
        return nil
    }
}
