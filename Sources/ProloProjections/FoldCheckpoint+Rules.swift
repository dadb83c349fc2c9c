import ProloDomain

/// The treatment fold's rules (listed on ``TreatmentFold``), one fact at a time in clinical order.
extension FoldCheckpoint {
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

    /// Folds one fact in effect, after every fact before it in clinical order.
    mutating func step(_ fact: ClinicalFact) {
        switch fact.type {
        case .consentRecorded:
            let given = fact.data["status"]?.stringValue == "given"
            consentGiven = given
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
                scored(instrument, score, at: fact.occurredAt)
            }
        case .injectionAdministered:
            injected(fact)
        case .sideEffectReported:
            reported(fact)
        case .adjunctTherapyRecorded:
            if let therapy = fact.data["therapy"]?.stringValue { state.adjunctTherapies[therapy, default: 0] += 1 }
        case .sessionScheduled:
            if !cancelledSessions.contains(fact.id), let at = fact.data["appointmentAt"]?.stringValue,
                let time = try? Timestamp(checked: at)
            {
                state.upcomingAppointments.append(time.millisecondsSinceEpoch)
                scheduled[fact.id] = time.millisecondsSinceEpoch
            }
        default:
            break
        }
    }

    /// Keeps an instrument's first and latest score.
    private mutating func scored(_ instrument: String, _ score: Int, at time: Int64) {
        if scores[instrument] == nil {
            scores[instrument] = Scores(first: (time, score), latest: (time, score))
        } else {
            scores[instrument]?.latest = (time, score)
        }
    }


    /// An exam: baseline pain, body weight, and its red flags, abnormal neuro screen and decision.
    private mutating func examined(_ fact: ClinicalFact) {
        let data = fact.data
        readPain(nrs: data["painNRS"]?.intValue, odi: data["odi"]?.intValue, isExam: true)
        if let nrs = data["painNRS"]?.intValue { scored("nrs", nrs, at: fact.occurredAt) }
        if let odi = data["odi"]?.intValue { scored("odi", odi, at: fact.occurredAt) }
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

    /// An injection: consent, red flags not cleared before it, duplicates, its safety, and its course's counts.
    private mutating func injected(_ fact: ClinicalFact) {
        state.injectionsTotal += 1
        if !(consentGiven ?? false) {
            raise(AlertKind.injectionWithoutConsent.rawValue, by: [fact.id], at: fact.occurredAt)
        }
        for flag in state.alerts
        where (AlertKind(rawValue: flag.kind)?.blocksNextInjection ?? false) && flag.raisedAt <= fact.occurredAt
            && !clearances.contains(where: { $0.at <= fact.occurredAt && $0.clears(flag, as: flag.kind) })
        {
            raise(AlertKind.injectionWhileRedFlag.rawValue, by: [fact.id] + flag.raisedBy, at: fact.occurredAt)
        }
        let sameDay = TreatmentState.day(of: fact.occurredAt)
        let mark = Mark(fact)
        for other in injections
        where other.origin != fact.origin && TreatmentState.day(of: other.occurredAt) == sameDay
            && other.clinicallyPrecedes(mark)
        {
            review("possible-duplicate", by: [other.id, fact.id], at: fact.occurredAt)
        }
        injectedSafely(fact)
        let previous = previousInjection
        previousInjection = mark
        guard let index = courses.lastIndex(where: { $0.plannedAt <= fact.occurredAt }) else { return }
        // Calendar days, and across a course boundary: a new course does not reset the interval.
        if let previous, let minWeeks = courses[index].minWeeks, daysBetween(previous.occurredAt, fact.occurredAt) < minWeeks * 7 {
            raise(AlertKind.sessionTooSoon.rawValue, by: [fact.id, previous.id], at: fact.occurredAt)
        }
        courses[index].injectionCount += 1
        if courses[index].leadingInjections.count < leadingCount { courses[index].leadingInjections.append(mark) }
        courses[index].lastInjection = mark
        if courses[index].injectionCount > policy.sessionCap {
            raise(AlertKind.sessionCap.rawValue, by: [fact.id], at: fact.occurredAt)
        }
        if let planned = courses[index].sessions, courses[index].injectionCount > planned {
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

    /// A side-effect report: the alerts it raises, and an open side effect until it is resolved.
    private mutating func reported(_ fact: ClinicalFact) {
        let data = fact.data
        let kinds = (data["kinds"]?.arrayValue ?? []).compactMap(\.stringValue)
        let grade = data["grade"]?.intValue ?? 0
        let temperature = data["temperatureC"]?.doubleValue
        let onset = data["onset"]?.stringValue.flatMap { try? Timestamp(checked: $0) }?.millisecondsSinceEpoch
            ?? fact.occurredAt
        // An injection folded later that this report could be about makes the next append re-fold the patient.
        latestReportOnset = max(latestReportOnset ?? onset, onset)
        if let name = data["relatedInjection"]?.stringValue { namedInjections.insert(name) }
        if kinds.contains("numbness") { numbnessReports.insert(fact.id) }
        let named = data["relatedInjection"]?.stringValue.flatMap { id in injections.first { $0.id == id } }
        let latestBeforeOnset = injections.last { $0.occurredAt <= onset }
        let related = named ?? latestBeforeOnset
        let days = related.map { daysBetween($0.occurredAt, onset) }
        if grade >= policy.seriousGrade {
            raise(AlertKind.seriousAdverseEvent.rawValue, by: [fact.id], at: fact.occurredAt)
        }
        if kinds.contains(where: Self.neurologicalKinds.contains)
            || (kinds.contains("numbness") && !isLidocaineNumbness(fact, onset: onset, after: latestBeforeOnset))
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
        _ report: ClinicalFact, onset: Int64, after injection: Mark?
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

    /// The latest course's counts, next window and no-improvement check, and improvement against baseline.
    mutating func summarise() {
        let nrsDrop = percentDrop(state.baselinePain.nrs, state.latestPain.nrs)
        let odiDrop = percentDrop(state.baselinePain.odi, state.latestPain.odi)
        state.improvementPercent = TreatmentState.ImprovementPercent(nrs: nrsDrop, odi: odiDrop)
        state.responder = [nrsDrop, odiDrop].contains { ($0 ?? -.infinity) >= policy.responderDropPercent }
        guard let course = courses.last else { return }
        state.course = course.id
        state.sessionsPlanned = course.sessions
        state.sessionsCompleted = course.injectionCount
        state.firstInjectionAt = course.leadingInjections.first?.occurredAt
        state.lastInjectionAt = course.lastInjection?.occurredAt
        if let close = course.close {
            state.courseStatus = .closed
            state.closingReason = close.reason
        } else {
            state.courseStatus = .active
            if let last = state.lastInjectionAt, let minWeeks = course.minWeeks, let maxWeeks = course.maxWeeks,
                state.sessionsCompleted < (course.sessions ?? Int.max)
            {
                state.nextDue = TreatmentState.Window(
                    from: last + Int64(minWeeks) * 7 * Self.dayMs, to: last + Int64(maxWeeks) * 7 * Self.dayMs)
            }
        }
        if policy.noImprovementSessions > 0, course.injectionCount >= policy.noImprovementSessions,
            let first = course.leadingInjections.first
        {
            let nth = course.leadingInjections[policy.noImprovementSessions - 1]
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
            // Scores come in clinical order: the first is the earliest, the latest the last.
            guard let scores = scores[instrument], scores.first.at <= baselineBy, scores.latest.at > after else {
                continue
            }
            let (baseline, latest) = (scores.first, scores.latest)
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

    mutating func review(_ kind: String, by events: [String], at time: Int64) {
        guard !state.reviewFlags.contains(where: { $0.kind == kind && $0.raisedBy == events }) else { return }
        state.reviewFlags.append(TreatmentState.Flag(kind: kind, raisedBy: events, raisedAt: time))
    }

    static func flagOrder(_ left: TreatmentState.Flag, _ right: TreatmentState.Flag) -> Bool {
        let leftKey = (left.raisedAt, left.kind, left.raisedBy.joined(separator: ","))
        let rightKey = (right.raisedAt, right.kind, right.raisedBy.joined(separator: ","))
        return leftKey < rightKey
    }

    func clearer(of flag: TreatmentState.Flag) -> String? {
        let kind = Self.reviewKinds.contains(flag.kind) ? AlertKind.mergeReview.rawValue : flag.kind
        return clearances.first { $0.clears(flag, as: kind) }?.id
    }
}
