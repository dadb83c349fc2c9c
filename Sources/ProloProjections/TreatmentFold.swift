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
/// - **Safety rules** (thresholds on ``TreatmentPolicy``; each rule, threshold and source is listed in
///   `Schemas/clinical-rules.md`): possible infection, neurological red flag (numbness in the first hours after an
///   injection is the lidocaine), serious adverse event, breathlessness or chest pain, allergic reaction,
///   post-injection headache, the injection's immediate reaction, the lidocaine given in one session, exam red
///   flags and "not a candidate", no improvement measured against minimal important change, sessions too soon
///   (calendar days, across courses), beyond the plan or over the cap. Intense pain without fever is a review flag.
///   Alerts whose ``AlertKind/blocksNextInjection`` is true raise `injection-while-red-flag` at the next injection
///   until cleared.
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
    /// Every outcome score in clinical order: exam NRS and ODI, and `pain.reported` on any instrument.
    private var outcomes: [(at: Int64, instrument: String, score: Int)] = []
    /// The body weight of the latest exam that recorded one, in kg.
    private var bodyWeightKg: Double?
    /// The latest injection folded so far (in any course), for the interval check.
    private var previousInjection: ClinicalFact?

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
    private static let hourMs: Int64 = 3_600_000
    /// Side-effect kinds that are a neurological red flag whenever reported (numbness has its own rule).
    private static let neurologicalKinds: Set<String> = ["weakness", "saddle-anaesthesia", "bladder-bowel-change", "tingling"]
    /// Exam red flags that are neurological, and those that make injecting unsafe until a clinician has looked.
    private static let neurologicalExamFlags = ["saddleAnaesthesia", "bladderBowelDysfunction", "progressiveNeurologicalDeficit"]
    private static let systemicExamFlags = ["fever", "cancerHistory", "unexplainedWeightLoss", "immunosuppression"]
    /// Review flags, cleared by `merge-review` clearances.
    private static let reviewKinds: Set<String> = [
        "possible-duplicate", "conflicting-amendments", "after-close", ReviewFlagKind.intensePain,
    ]

    init(patient: PatientID, policy: TreatmentPolicy) {
        self.policy = policy
        state = TreatmentState(patient: patient)
    }

    mutating func run(_ canonical: [ClinicalFact]) {
        state.eventCount = canonical.count
        let effective = applyCorrections(canonical).sorted(by: ClinicalFact.clinicallyOrdered)
        let clearances = effective.compactMap(Self.clearance)
        var resolutions: [String: Int64] = [:]
        for fact in effective where fact.type == .sideEffectResolved {
            guard let report = fact.data["report"]?.stringValue else { continue }
            let at = fact.data["resolvedAt"]?.stringValue.flatMap { try? Timestamp(checked: $0) }?.millisecondsSinceEpoch
            resolutions[report] = at ?? fact.occurredAt
        }
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
                examined(fact)
            case .painReported:
                let score = fact.data["score"]?.intValue
                switch fact.data["instrument"]?.stringValue {
                case "nrs": readPain(nrs: score, odi: nil, isExam: false)
                case "odi": readPain(nrs: nil, odi: score, isExam: false)
                case "vas": readOther(\.vas, score)
                case "roland-morris": readOther(\.rolandMorris, score)
                default: break
                }
                if let instrument = fact.data["instrument"]?.stringValue, let score {
                    outcomes.append((fact.occurredAt, instrument, score))
                }
            case .injectionAdministered:
                injected(fact, courses: &courses, consent: consentTimeline, clearances: clearances, all: injections)
            case .sideEffectReported:
                reported(fact, injections: injections, resolutions: resolutions)
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

    /// An exam: baseline pain, body weight, and its red flags, abnormal neuro screen and decision.
    private mutating func examined(_ fact: ClinicalFact) {
        let data = fact.data
        readPain(nrs: data["painNRS"]?.intValue, odi: data["odi"]?.intValue, isExam: true)
        if let nrs = data["painNRS"]?.intValue { outcomes.append((fact.occurredAt, "nrs", nrs)) }
        if let odi = data["odi"]?.intValue { outcomes.append((fact.occurredAt, "odi", odi)) }
        if let weight = data["bodyWeightKg"]?.doubleValue { bodyWeightKg = weight }
        let flags = data["redFlags"]
        let screen = data["neuroScreen"]
        let abnormalScreen = ["motorNormal", "sensationNormal", "reflexesNormal"].contains { screen?[$0] == .bool(false) }
        if abnormalScreen || Self.neurologicalExamFlags.contains(where: { flags?[$0] == .bool(true) }) {
            raise(AlertKind.neurologicalRedFlag.rawValue, by: [fact.id], at: fact.occurredAt)
        }
        if Self.systemicExamFlags.contains(where: { flags?[$0] == .bool(true) }) {
            raise(AlertKind.examRedFlag.rawValue, by: [fact.id], at: fact.occurredAt)
        }
        if data["decision"]?["candidate"] == .bool(false) {
            raise(AlertKind.notACandidate.rawValue, by: [fact.id], at: fact.occurredAt)
        }
    }

    /// VAS and Roland-Morris: the first report is the baseline (exams do not score them).
    private mutating func readOther(_ keyPath: WritableKeyPath<TreatmentState.Pain, Int?>, _ score: Int?) {
        guard let score else { return }
        if state.baselinePain[keyPath: keyPath] == nil { state.baselinePain[keyPath: keyPath] = score }
        state.latestPain[keyPath: keyPath] = score
    }

    /// Baseline is the first exam's NRS and ODI; before any exam, the first report of each stands in.
    private mutating func readPain(nrs: Int?, odi: Int?, isExam: Bool) {
        if isExam {
            if !baselineFromExam {
                baselineFromExam = true
                state.baselinePain.nrs = nrs
                state.baselinePain.odi = odi
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
        where (AlertKind(rawValue: flag.kind)?.blocksNextInjection ?? false) && flag.raisedAt <= fact.occurredAt
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
        injectedSafely(fact)
        let previous = previousInjection
        previousInjection = fact
        guard let index = courses.lastIndex(where: { $0.plannedAt <= fact.occurredAt }) else { return }
        // Calendar days, and across a course boundary: a new course does not reset the interval.
        if let previous, let minWeeks = courses[index].minWeeks, daysBetween(previous.occurredAt, fact.occurredAt) < minWeeks * 7 {
            raise(AlertKind.sessionTooSoon.rawValue, by: [fact.id, previous.id], at: fact.occurredAt)
        }
        courses[index].injections.append(fact)
        if courses[index].injections.count > policy.sessionCap {
            raise(AlertKind.sessionCap.rawValue, by: [fact.id], at: fact.occurredAt)
        }
        if let planned = courses[index].sessions, courses[index].injections.count > planned {
            raise(AlertKind.sessionsBeyondPlan.rawValue, by: [fact.id, courses[index].id], at: fact.occurredAt)
        }
        if let close = courses[index].close, close.occurredAt < fact.occurredAt {
            review("after-close", by: [fact.id, close.id], at: fact.occurredAt)
        }
    }

    /// The injection's immediate reaction and the lidocaine it gave.
    private mutating func injectedSafely(_ fact: ClinicalFact) {
        switch fact.data["immediateReaction"]?.stringValue {
        case "allergic": raise(AlertKind.allergicReaction.rawValue, by: [fact.id], at: fact.occurredAt)
        case "bleeding", "vasovagal": raise(AlertKind.immediateReaction.rawValue, by: [fact.id], at: fact.occurredAt)
        default: break
        }
        if let concentration = fact.data["proliferant"]?["lidocaineMgPerMl"]?.doubleValue {
            let volume = (fact.data["sites"]?.arrayValue ?? []).reduce(0) { $0 + ($1["volumeMl"]?.doubleValue ?? 0) }
            if concentration * volume > policy.lidocaineLimitMg(bodyWeightKg: bodyWeightKg) {
                raise(AlertKind.lidocaineDose.rawValue, by: [fact.id], at: fact.occurredAt)
            }
        }
    }

    private mutating func reported(_ fact: ClinicalFact, injections: [ClinicalFact], resolutions: [String: Int64]) {
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
        if kinds.contains(where: Self.neurologicalKinds.contains)
            || (kinds.contains("numbness") && !isLidocaineNumbness(fact, onset: onset, after: latestBeforeOnset, resolutions))
        {
            raise(AlertKind.neurologicalRedFlag.rawValue, by: [fact.id], at: fact.occurredAt)
        }
        if kinds.contains("breathlessness") || kinds.contains("chest-pain") {
            raise(AlertKind.breathlessnessOrChestPain.rawValue, by: [fact.id], at: fact.occurredAt)
        }
        if kinds.contains("allergic-reaction") {
            raise(AlertKind.allergicReaction.rawValue, by: [fact.id], at: fact.occurredAt)
        }
        if kinds.contains("headache"), let injection = latestBeforeOnset,
            daysBetween(injection.occurredAt, onset) <= policy.infectionWindowDays
        {
            raise(AlertKind.postInjectionHeadache.rawValue, by: [fact.id, injection.id], at: fact.occurredAt)
        }
        let localSigns = (data["localSigns"]?.arrayValue ?? []).compactMap(\.stringValue)
        let fever = kinds.contains("fever") || (temperature.map { $0 >= policy.feverThresholdC } ?? false)
        if kinds.contains("intense-pain"), !fever {
            review(ReviewFlagKind.intensePain, by: [fact.id], at: fact.occurredAt)
        }
        let severe = kinds.contains("intense-pain") || grade >= policy.seriousGrade || !localSigns.isEmpty
        // The window counts calendar days (UTC), inclusive: an injection on day 0 covers onsets up to day 14. The
        // latest injection before onset is looked at as well as the named one: naming an older injection does not
        // hide the one given two days before.
        let suspects = [latestBeforeOnset, named].compactMap { $0 }.filter {
            $0.occurredAt <= onset && daysBetween($0.occurredAt, onset) <= policy.infectionWindowDays
        }
        if (fever && severe) || localSigns.contains("discharge"), let suspect = suspects.first {
            raise(AlertKind.possibleInfection.rawValue, by: [fact.id, suspect.id], at: fact.occurredAt)
        }
        if resolutions[fact.id] == nil {
            state.openSideEffects.append(
                TreatmentState.OpenSideEffect(
                    event: fact.id, grade: grade, kinds: kinds, onset: onset, temperatureC: temperature,
                    injection: related?.id, daysSinceInjection: days))
        }
    }

    /// Numbness that began within the policy's hours after an injection is the lidocaine, unless it is known to have
    /// lasted past them: reported after the window, or resolved after it.
    private func isLidocaineNumbness(
        _ report: ClinicalFact, onset: Int64, after injection: ClinicalFact?, _ resolutions: [String: Int64]
    ) -> Bool {
        guard let injection, onset >= injection.occurredAt else { return false }
        let windowEnd = injection.occurredAt + Int64(policy.lidocaineNumbnessHours) * Self.hourMs
        guard onset <= windowEnd, report.occurredAt <= windowEnd else { return false }
        return (resolutions[report.id] ?? windowEnd) <= windowEnd
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
        if policy.noImprovementSessions > 0, course.injections.count >= policy.noImprovementSessions,
            let first = course.injections.first
        {
            let nth = course.injections[policy.noImprovementSessions - 1]
            if let improved = improvedImportantly(since: first.occurredAt, after: nth.occurredAt), !improved {
                raise(AlertKind.noImprovement.rawValue, by: [nth.id], at: nth.occurredAt)
            }
        }
    }

    /// Whether any instrument's latest score after `after` dropped from its baseline (its first score at or before
    /// `baselineBy`) by the minimal important change; `nil` when no instrument has both (missing data is not
    /// "no improvement").
    private func improvedImportantly(since baselineBy: Int64, after: Int64) -> Bool? {
        var compared = false
        for instrument in ["nrs", "odi", "vas", "roland-morris"] {
            guard let baseline = outcomes.first(where: { $0.instrument == instrument && $0.at <= baselineBy }),
                let latest = outcomes.last(where: { $0.instrument == instrument && $0.at > after })
            else { continue }
            compared = true
            if policy.minimalImportantChange.isImportant(instrument: instrument, baseline: baseline.score, latest: latest.score) {
                return true
            }
        }
        return compared ? false : nil
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
