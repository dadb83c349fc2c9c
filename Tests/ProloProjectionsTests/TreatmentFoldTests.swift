import ProloDomain
import ProloProjections
import ProloTestSupport
import Testing

/// The pure treatment fold (DESIGN §5): safety alerts, review flags from merges, corrections, and the course summary.
///
/// Every history is written with ``History`` on a calendar whose day 0 is 1 September 2026 (injections at 10:00 UTC
/// unless a test says otherwise). `History.readyForInjections()` records consent and an exam (NRS 7, ODI 42) on
/// day −14 and a course (6 sessions, 2–4 weeks apart) on day −7, so a test only adds what it is about.
@Suite("The treatment fold")
struct TreatmentFoldTests {}

// MARK: - Possible infection

extension TreatmentFoldTests {
    /// One side-effect report's clinical content, for tables of cases.
    struct Report: Sendable, CustomTestStringConvertible {
        let kinds: [SideEffectKind]
        let grade: Int
        let temperatureC: Double?
        let testDescription: String
    }

    @Suite("possible-infection")
    struct PossibleInfection {
        @Test(
            "fever (≥ 38.0 °C or reported) with intense pain or grade ≥ 3 two days after an injection raises possible-infection",
            arguments: [
                Report(kinds: [.intensePain], grade: 2, temperatureC: 38.0, testDescription: "38.0 °C + intense pain"),
                Report(kinds: [.fever, .intensePain], grade: 1, temperatureC: nil, testDescription: "fever kind + intense pain"),
                Report(kinds: [.fever], grade: 3, temperatureC: nil, testDescription: "fever kind + grade 3"),
                Report(kinds: [.postInjectionPain], grade: 3, temperatureC: 38.5, testDescription: "38.5 °C + grade 3"),
            ])
        func raises(_ report: Report) throws {
            var history = try History.readyForInjections()
            let injection = try history.record(Clinic.injection, at: day(0))
            let reported = try history.record(
                try Clinic.sideEffect(report.kinds, grade: report.grade, temperatureC: report.temperatureC, onset: day(2)),
                at: day(2, hour: 12))
            let state = try history.state()
            let alert = try #require(state.alerts(.possibleInfection).first)
            #expect(state.alerts(.possibleInfection).count == 1)
            #expect(alert.raisedBy == [reported.text, injection.text])
            #expect(alert.raisedAt == day(2, hour: 12))
            #expect(!alert.cleared)
            #expect(state.openAlerts.contains(alert))
        }

        @Test(
            "near misses do not raise possible-infection: 37.9 °C without a fever kind, fever without intense pain or grade ≥ 3, intense pain without fever",
            arguments: [
                Report(kinds: [.intensePain], grade: 2, temperatureC: 37.9, testDescription: "37.9 °C + intense pain"),
                Report(kinds: [.postInjectionPain], grade: 3, temperatureC: 37.9, testDescription: "37.9 °C + grade 3"),
                Report(kinds: [.intensePain], grade: 2, temperatureC: nil, testDescription: "intense pain, grade 2, no fever"),
                Report(kinds: [.intensePain], grade: 3, temperatureC: nil, testDescription: "intense pain, grade 3, no fever"),
                Report(kinds: [.fever], grade: 2, temperatureC: nil, testDescription: "fever kind, grade 2, no intense pain"),
                Report(kinds: [.postInjectionPain], grade: 2, temperatureC: 39.0, testDescription: "39.0 °C, grade 2, no intense pain"),
            ])
        func nearMisses(_ report: Report) throws {
            var history = try History.readyForInjections()
            try history.record(Clinic.injection, at: day(0))
            try history.record(
                try Clinic.sideEffect(report.kinds, grade: report.grade, temperatureC: report.temperatureC, onset: day(2)),
                at: day(2, hour: 12))
            let state = try history.state()
            #expect(state.alerts(.possibleInfection).isEmpty)
            #expect(state.openSideEffects.count == 1)
        }

        @Test("the window is 14 days after the injection: onset on day 14 raises, onset on day 15 does not")
        func window() throws {
            for (onsetDay, raised) in [(14, true), (15, false)] {
                var history = try History.readyForInjections()
                let injection = try history.record(Clinic.injection, at: day(0))
                try history.record(
                    try Clinic.sideEffect([.fever, .intensePain], grade: 2, temperatureC: 38.4, onset: day(onsetDay)),
                    at: day(onsetDay, hour: 11))
                let state = try history.state()
                #expect(state.alerts(.possibleInfection).isEmpty == !raised, "onset on day \(onsetDay)")
                let open = try #require(state.openSideEffects.first)
                #expect(open.injection == injection.text)
                #expect(open.daysSinceInjection == onsetDay)
            }
        }

        @Test("a fever before any injection is not a possible infection")
        func beforeAnyInjection() throws {
            var history = try History.readyForInjections()
            try history.record(try Clinic.sideEffect([.fever, .intensePain], grade: 2, onset: day(-2)), at: day(-2))
            try history.record(Clinic.injection, at: day(0))
            #expect(try history.state().alerts(.possibleInfection).isEmpty)
        }

        @Test("the window counts from the latest injection before onset as well as the named one (issue 15 item 2)")
        func relatedInjection() throws {
            var history = try History.readyForInjections()
            let first = try history.record(Clinic.injection, at: day(0))
            let second = try history.record(Clinic.injection, at: day(20))
            let named = try history.record(
                try Clinic.sideEffect([.fever, .intensePain], grade: 2, onset: day(22), relatedInjection: first),
                at: day(22))
            let namedState = try history.state()
            #expect(namedState.alerts(.possibleInfection).map(\.raisedBy) == [[named.text, second.text]])
            // The open side effect still shows the injection the reporter named.
            #expect(namedState.openSideEffects.first?.injection == first.text)
            var older = try History.readyForInjections()
            let only = try older.record(Clinic.injection, at: day(0))
            try older.record(
                try Clinic.sideEffect([.fever, .intensePain], grade: 2, onset: day(22), relatedInjection: only), at: day(22))
            #expect(try older.state().alerts(.possibleInfection).isEmpty)
            #expect(namedState.openSideEffects.first?.daysSinceInjection == 22)

            var unnamed = try History.readyForInjections()
            try unnamed.record(Clinic.injection, at: day(0))
            let latest = try unnamed.record(Clinic.injection, at: day(20))
            let report = try unnamed.record(try Clinic.sideEffect([.fever, .intensePain], grade: 2, onset: day(22)), at: day(22))
            #expect(try unnamed.state().alerts(.possibleInfection).map(\.raisedBy) == [[report.text, latest.text]])
        }

        @Test("thresholds come from the policy value")
        func policyThresholds() throws {
            var history = try History.readyForInjections()
            try history.record(Clinic.injection, at: day(0))
            try history.record(
                try Clinic.sideEffect([.intensePain], grade: 2, temperatureC: 38.2, onset: day(10)), at: day(10))
            #expect(try history.state().alerts(.possibleInfection).count == 1)
            #expect(try history.state(policy: TreatmentPolicy(feverThresholdC: 38.5)).alerts(.possibleInfection).isEmpty)
            #expect(try history.state(policy: TreatmentPolicy(infectionWindowDays: 7)).alerts(.possibleInfection).isEmpty)
        }

        @Test("alert.cleared of possible-infection naming the report clears it; a clearance of another kind does not")
        func cleared() throws {
            var history = try History.readyForInjections()
            try history.record(Clinic.injection, at: day(0))
            let report = try history.record(
                try Clinic.sideEffect([.fever, .intensePain], grade: 3, temperatureC: 38.6, onset: day(1)), at: day(1))
            let seriousClearance = try history.record(Clinic.cleared(.seriousAdverseEvent, raisedBy: [report]), at: day(2))

            let before = try history.state()
            #expect(before.alerts(.possibleInfection).first?.cleared == false)
            #expect(before.alerts(.seriousAdverseEvent).first?.clearedBy == seriousClearance.text)
            #expect(before.openAlerts.map(\.kind) == [AlertKind.possibleInfection.rawValue])

            let clearance = try history.record(Clinic.cleared(.possibleInfection, raisedBy: [report]), at: day(2, hour: 11))
            let after = try history.state()
            let alert = try #require(after.alerts(.possibleInfection).first)
            #expect(alert.clearedBy == clearance.text)
            #expect(after.openAlerts.isEmpty)
        }

        @Test("a clearance naming another event does not clear the alert")
        func clearanceNamesItsEvent() throws {
            var history = try History.readyForInjections()
            try history.record(Clinic.injection, at: day(0))
            try history.record(try Clinic.sideEffect([.fever, .intensePain], grade: 2, onset: day(1)), at: day(1))
            let other = try history.record(try Clinic.sideEffect([.bruising], grade: 1, onset: day(1)), at: day(1, hour: 12))
            try history.record(Clinic.cleared(.possibleInfection, raisedBy: [other]), at: day(2))
            #expect(try history.state().alerts(.possibleInfection).first?.cleared == false)
        }

        @Test("retracting the side-effect report removes its alerts and the open side effect")
        func retracted() throws {
            var history = try History.readyForInjections()
            try history.record(Clinic.injection, at: day(0))
            let report = try history.record(
                try Clinic.sideEffect([.fever, .intensePain], grade: 3, temperatureC: 38.6, onset: day(1)), at: day(1))
            #expect(try history.state().alerts(.possibleInfection).count == 1)

            try history.record(Clinic.retracted(report), at: day(3))
            let state = try history.state()
            #expect(state.alerts(.possibleInfection).isEmpty)
            #expect(state.alerts(.seriousAdverseEvent).isEmpty)
            #expect(state.openSideEffects.isEmpty)
            #expect(state.retracted == [report.text])
        }
    }
}

// MARK: - Neurological red flag and serious adverse event

extension TreatmentFoldTests {
    @Suite("neurological-red-flag and serious-adverse-event")
    struct RedFlags {
        @Test(
            "a side effect with a neurological kind raises neurological-red-flag",
            arguments: [SideEffectKind.numbness, .weakness, .saddleAnaesthesia, .bladderBowelChange])
        func neurologicalKinds(_ kind: SideEffectKind) throws {
            var history = try History.readyForInjections()
            try history.record(Clinic.injection, at: day(0))
            let report = try history.record(try Clinic.sideEffect([.tingling, kind], grade: 1, onset: day(1)), at: day(1))
            let state = try history.state()
            #expect(state.alerts(.neurologicalRedFlag).map(\.raisedBy) == [[report.text]])
            #expect(state.alerts(.neurologicalRedFlag).first?.raisedAt == day(1))
        }

        @Test("tingling is a neurological red flag (issue 15 item 3; NICE NG59 neurological red flags)")
        func tinglingAlone() throws {
            var history = try History.readyForInjections()
            try history.record(Clinic.injection, at: day(0))
            let report = try history.record(
                try Clinic.sideEffect([.tingling, .postInjectionPain], grade: 1, onset: day(1)), at: day(1))
            let state = try history.state()
            #expect(state.alerts.map(\.raisedBy) == [[report.text]])
            #expect(state.alerts(.neurologicalRedFlag).count == 1)
            #expect(state.openSideEffects.map(\.kinds) == [["tingling", "post-injection-pain"]])
        }

        @Test(
            "an exam whose red-flag screen finds saddle anaesthesia, bladder/bowel dysfunction or a progressive deficit raises neurological-red-flag",
            arguments: [
                ExamRecorded.RedFlagScreen(saddleAnaesthesia: true),
                ExamRecorded.RedFlagScreen(bladderBowelDysfunction: true),
                ExamRecorded.RedFlagScreen(progressiveNeurologicalDeficit: true),
            ])
        func examScreen(_ screen: ExamRecorded.RedFlagScreen) throws {
            var history = History()
            let exam = try history.record(try Clinic.exam(redFlags: screen), at: day(0))
            #expect(try history.state().alerts(.neurologicalRedFlag).map(\.raisedBy) == [[exam.text]])
        }

        @Test("an exam with only non-neurological red flags (cancer history, fever, trauma) raises exam-red-flag, not neurological-red-flag (NICE NG59)")
        func examOtherFlags() throws {
            var history = History()
            let exam = try history.record(
                try Clinic.exam(redFlags: .init(cancerHistory: true, fever: true, significantTrauma: true)), at: day(0))
            let state = try history.state()
            #expect(state.alerts(.neurologicalRedFlag).isEmpty)
            #expect(state.alerts.map(\.kind) == [AlertKind.examRedFlag.rawValue])
            #expect(state.alerts.map(\.raisedBy) == [[exam.text]])
            var traumaOnly = History()
            try traumaOnly.record(try Clinic.exam(redFlags: .init(significantTrauma: true)), at: day(0))
            #expect(try traumaOnly.state().alerts.isEmpty)
        }

        @Test("CTCAE grade 3 or more raises serious-adverse-event; grade 2 or less does not", arguments: 1...5)
        func seriousGrade(_ grade: Int) throws {
            var history = try History.readyForInjections()
            try history.record(Clinic.injection, at: day(0))
            let report = try history.record(try Clinic.sideEffect([.bruising], grade: grade, onset: day(1)), at: day(1))
            let serious = try history.state().alerts(.seriousAdverseEvent)
            if grade >= 3 {
                #expect(serious.map(\.raisedBy) == [[report.text]])
            } else {
                #expect(serious.isEmpty)
            }
        }
    }
}

// MARK: - No improvement

extension TreatmentFoldTests {
    @Suite("no-improvement")
    struct NoImprovement {
        /// A course with `count` injections two weeks apart from day 0, then the given pain reports on day 45.
        private func history(injections count: Int, reports: [PainReported] = []) throws -> (History, [EventID]) {
            var history = try History.readyForInjections(sessions: 6)
            var injections: [EventID] = []
            for index in 0..<count { injections.append(try history.record(Clinic.injection, at: day(14 * index))) }
            for report in reports { try history.record(report, at: day(45)) }
            return (history, injections)
        }

        @Test("three injections and a score after them below the minimal important change raise no-improvement, at the third (Ostelo et al. 2008)")
        func threeWithoutImprovement() throws {
            let (history, injections) = try history(injections: 3, reports: [Clinic.pain(nrs: 6)])
            let state = try history.state()
            #expect(state.alerts(.noImprovement).map(\.raisedBy) == [[injections[2].text]])
            #expect(state.alerts(.noImprovement).first?.raisedAt == day(28))
        }

        @Test("worse pain than baseline is no improvement")
        func worse() throws {
            let (history, _) = try history(injections: 3, reports: [Clinic.pain(nrs: 8)])
            #expect(try history.state().alerts(.noImprovement).count == 1)
        }

        @Test("three injections and no score after them do not raise no-improvement: missing data is not no improvement")
        func missingData() throws {
            let (history, _) = try history(injections: 3)
            #expect(try history.state().alerts(.noImprovement).isEmpty)
        }

        @Test("two injections without improvement do not raise no-improvement")
        func two() throws {
            let (history, _) = try history(injections: 2)
            #expect(try history.state().alerts(.noImprovement).isEmpty)
        }

        @Test("an NRS drop of 2 points or an ODI drop of 10 suppresses no-improvement (Ostelo et al. 2008)")
        func improvementSuppresses() throws {
            let (nrs, _) = try history(injections: 3, reports: [Clinic.pain(nrs: 5)])
            #expect(try nrs.state().alerts(.noImprovement).isEmpty)
            let (odi, _) = try history(injections: 3, reports: [Clinic.pain(nrs: 7), Clinic.pain(odi: 32)])
            #expect(try odi.state().alerts(.noImprovement).isEmpty)
            let (small, _) = try history(injections: 3, reports: [Clinic.pain(nrs: 6), Clinic.pain(odi: 40)])
            #expect(try small.state().alerts(.noImprovement).count == 1)
        }

        @Test("the number of sessions comes from the policy")
        func policy() throws {
            let (two, injections) = try history(injections: 2, reports: [Clinic.pain(nrs: 7)])
            #expect(
                try two.state(policy: TreatmentPolicy(noImprovementSessions: 2)).alerts(.noImprovement).map(\.raisedBy)
                    == [[injections[1].text]])
            let (three, _) = try history(injections: 3, reports: [Clinic.pain(nrs: 7)])
            #expect(try three.state(policy: TreatmentPolicy(noImprovementSessions: 4)).alerts(.noImprovement).isEmpty)
        }
    }
}

// MARK: - Session rules

extension TreatmentFoldTests {
    @Suite("session-too-soon and session-cap")
    struct SessionRules {
        @Test("an injection fewer calendar days than the course's minimum interval after the previous one raises session-too-soon; hours do not count (issue 15 item 3)")
        func tooSoon() throws {
            var history = try History.readyForInjections(minWeeks: 2, maxWeeks: 4)
            let first = try history.record(Clinic.injection, at: day(0))
            let second = try history.record(Clinic.injection, at: day(13, hour: 23, minutes: 59))
            var sameDay = try History.readyForInjections(minWeeks: 2, maxWeeks: 4)
            try sameDay.record(Clinic.injection, at: day(0))
            try sameDay.record(Clinic.injection, at: day(14, hour: 9, minutes: 59))
            #expect(try sameDay.state().alerts(.sessionTooSoon).isEmpty)
            let state = try history.state()
            #expect(state.alerts(.sessionTooSoon).map(\.raisedBy) == [[second.text, first.text]])
            #expect(state.sessionsCompleted == 2)
        }

        @Test("an injection exactly the minimum interval after the previous one is on time")
        func exactlyOnTime() throws {
            var history = try History.readyForInjections(minWeeks: 2, maxWeeks: 4)
            try history.record(Clinic.injection, at: day(0))
            try history.record(Clinic.injection, at: day(14))
            #expect(try history.state().alerts(.sessionTooSoon).isEmpty)
        }

        @Test("the 12th injection of a course is within the cap; the 13th raises session-cap")
        func cap() throws {
            var history = try History.readyForInjections(sessions: 12, minWeeks: 1, maxWeeks: 2)
            for index in 0..<12 { try history.record(Clinic.injection, at: day(7 * index)) }
            let twelve = try history.state()
            #expect(twelve.sessionsCompleted == 12)
            #expect(twelve.alerts(.sessionCap).isEmpty)
            #expect(twelve.alerts(.sessionTooSoon).isEmpty)

            let thirteenth = try history.record(Clinic.injection, at: day(7 * 12))
            let thirteen = try history.state()
            #expect(thirteen.sessionsCompleted == 13)
            #expect(thirteen.alerts(.sessionCap).map(\.raisedBy) == [[thirteenth.text]])
        }
    }
}

// MARK: - Injection while a red flag is uncleared, injection without consent

extension TreatmentFoldTests {
    @Suite("injection-while-red-flag and injection-without-consent")
    struct InjectionChecks {
        /// An injection on day 0, numbness reported on day 3, and a second injection on day 21.
        private func numbnessBetweenInjections(clearedOn clearanceDay: Int?) throws -> (
            state: TreatmentState, report: EventID, second: EventID, clearance: EventID?
        ) {
            var history = try History.readyForInjections()
            try history.record(Clinic.injection, at: day(0))
            let report = try history.record(try Clinic.sideEffect([.numbness], grade: 2, onset: day(3)), at: day(3))
            var clearance: EventID?
            if let clearanceDay {
                clearance = try history.record(Clinic.cleared(.neurologicalRedFlag, raisedBy: [report]), at: day(clearanceDay))
            }
            let second = try history.record(Clinic.injection, at: day(21))
            return (try history.state(), report, second, clearance)
        }

        @Test("an injection after an uncleared neurological red flag raises injection-while-red-flag")
        func uncleared() throws {
            let (state, report, second, _) = try numbnessBetweenInjections(clearedOn: nil)
            #expect(state.alerts(.injectionWhileRedFlag).map(\.raisedBy) == [[second.text, report.text]])
            #expect(state.alerts(.injectionWhileRedFlag).first?.raisedAt == day(21))
        }

        @Test("an injection after the red flag was cleared does not raise injection-while-red-flag")
        func clearedBefore() throws {
            let (state, _, _, clearance) = try numbnessBetweenInjections(clearedOn: 10)
            #expect(state.alerts(.injectionWhileRedFlag).isEmpty)
            #expect(state.alerts(.neurologicalRedFlag).first?.clearedBy == clearance?.text)
        }

        @Test("a clearance given after the injection does not excuse it")
        func clearedAfter() throws {
            let (state, report, second, clearance) = try numbnessBetweenInjections(clearedOn: 25)
            #expect(state.alerts(.injectionWhileRedFlag).map(\.raisedBy) == [[second.text, report.text]])
            #expect(state.alerts(.neurologicalRedFlag).first?.clearedBy == clearance?.text)
        }

        @Test("an exam red flag blocks the first injection until cleared")
        func examRedFlag() throws {
            var history = History()
            try history.record(Clinic.consent(), at: day(-14, hour: 9))
            let exam = try history.record(try Clinic.exam(redFlags: .init(saddleAnaesthesia: true)), at: day(-14))
            try history.record(try Clinic.course(), at: day(-7))
            let injection = try history.record(Clinic.injection, at: day(0))
            #expect(try history.state().alerts(.injectionWhileRedFlag).map(\.raisedBy) == [[injection.text, exam.text]])
        }

        @Test("an injection with no consent recorded raises injection-without-consent")
        func noConsent() throws {
            var history = History()
            try history.record(try Clinic.exam(), at: day(-14))
            try history.record(try Clinic.course(), at: day(-7))
            let injection = try history.record(Clinic.injection, at: day(0))
            let state = try history.state()
            #expect(state.consent == .none)
            #expect(state.alerts(.injectionWithoutConsent).map(\.raisedBy) == [[injection.text]])
        }

        @Test("an injection after consent was given raises no consent alert")
        func consentGiven() throws {
            var history = try History.readyForInjections()
            try history.record(Clinic.injection, at: day(0))
            let state = try history.state()
            #expect(state.consent == .given)
            #expect(state.alerts.isEmpty)
        }

        @Test("an injection after consent was withdrawn raises injection-without-consent; the one before does not")
        func consentWithdrawn() throws {
            var history = try History.readyForInjections()
            try history.record(Clinic.injection, at: day(0))
            try history.record(Clinic.consent(.withdrawn), at: day(5))
            let second = try history.record(Clinic.injection, at: day(14))
            let state = try history.state()
            #expect(state.consent == .withdrawn)
            #expect(state.alerts(.injectionWithoutConsent).map(\.raisedBy) == [[second.text]])
        }

        @Test("consent given after the injection does not cover it")
        func consentAfterwards() throws {
            var history = History()
            try history.record(try Clinic.course(), at: day(-7))
            let injection = try history.record(Clinic.injection, at: day(0))
            try history.record(Clinic.consent(), at: day(1))
            let state = try history.state()
            #expect(state.consent == .given)
            #expect(state.alerts(.injectionWithoutConsent).map(\.raisedBy) == [[injection.text]])
        }
    }
}

// MARK: - Review flags from merges

extension TreatmentFoldTests {
    @Suite("review flags")
    struct ReviewFlags {
        @Test("two injections on one UTC day (00:30 and 23:30) from different devices raise possible-duplicate listing both; both count")
        func possibleDuplicate() throws {
            var history = try History.readyForInjections()
            let laptop = try history.record(Clinic.injection, at: day(0, hour: 0, minutes: 30), origin: "laptop-1")
            let desk = try history.record(Clinic.injection, at: day(0, hour: 23, minutes: 30), origin: "front-desk")
            let state = try history.state()
            #expect(state.reviewFlags("possible-duplicate").map(\.raisedBy) == [[laptop.text, desk.text]])
            #expect(state.reviewFlags("possible-duplicate").first?.cleared == false)
            #expect(state.sessionsCompleted == 2)
            #expect(state.injectionsTotal == 2)
        }

        @Test("two injections on one day from the same device raise no possible-duplicate; both count")
        func sameOrigin() throws {
            var history = try History.readyForInjections()
            try history.record(Clinic.injection, at: day(0, hour: 10))
            try history.record(Clinic.injection, at: day(0, hour: 15))
            let state = try history.state()
            #expect(state.reviewFlags.isEmpty)
            #expect(state.sessionsCompleted == 2)
        }

        @Test("injections from two devices on neighbouring UTC days (23:30 and 00:30) are not possible duplicates")
        func neighbouringDays() throws {
            var history = try History.readyForInjections(minWeeks: 1)
            try history.record(Clinic.injection, at: day(0, hour: 23, minutes: 30), origin: "laptop-1")
            try history.record(Clinic.injection, at: day(1, hour: 0, minutes: 30), origin: "front-desk")
            #expect(try history.state().reviewFlags("possible-duplicate").isEmpty)
        }

        @Test("two amendments of one pain report from different devices raise conflicting-amendments listing the report and both")
        func conflictingAmendments() throws {
            var history = History()
            try history.record(try Clinic.exam(), at: day(0))
            let report = try history.record(Clinic.pain(nrs: 5), at: day(7))
            let first = try history.record(try Clinic.amended(report, to: Clinic.pain(nrs: 4)), at: day(8), origin: "laptop-1")
            let second = try history.record(try Clinic.amended(report, to: Clinic.pain(nrs: 3)), at: day(8), origin: "front-desk")
            let state = try history.state()
            #expect(state.reviewFlags("conflicting-amendments").map(\.raisedBy) == [[report.text, first.text, second.text]])
            #expect(state.amended == [report.text])
            #expect(state.latestPain.nrs == 3)
        }

        @Test("two amendments from the same device raise no flag; the later one wins")
        func sameOriginAmendments() throws {
            var history = History()
            try history.record(try Clinic.exam(), at: day(0))
            let report = try history.record(Clinic.pain(nrs: 5), at: day(7))
            try history.record(try Clinic.amended(report, to: Clinic.pain(nrs: 4)), at: day(8))
            try history.record(try Clinic.amended(report, to: Clinic.pain(nrs: 3)), at: day(8))
            let state = try history.state()
            #expect(state.reviewFlags.isEmpty)
            #expect(state.latestPain.nrs == 3)
            #expect(state.amended == [report.text])
        }

        @Test("of conflicting amendments the last in canonical (HLC) order wins, whatever their clinical times or arrival")
        func lastInCanonicalOrderWins() throws {
            var history = History()
            try history.record(try Clinic.exam(), at: day(0))
            let report = try history.record(Clinic.pain(nrs: 5), at: day(7))
            // Arrives first and says it happened later, but its HLC is the later one.
            let later = try history.record(
                try Clinic.amended(report, to: Clinic.pain(nrs: 4)), at: day(9), origin: "front-desk",
                recordedAt: History.recordingTime(100))
            let earlier = try history.record(
                try Clinic.amended(report, to: Clinic.pain(nrs: 3)), at: day(10), origin: "laptop-1")
            let state = try history.state()
            #expect(state.latestPain.nrs == 4)
            #expect(state.reviewFlags("conflicting-amendments").map(\.raisedBy) == [[report.text, earlier.text, later.text]])
        }

        @Test("an injection dated after course.closed raises after-close and still counts")
        func afterClose() throws {
            var history = try History.readyForInjections()
            let course = try #require(history.course)
            try history.record(Clinic.injection, at: day(0))
            let close = try history.record(Clinic.closed(course), at: day(10))
            let late = try history.record(Clinic.injection, at: day(20))
            let state = try history.state()
            #expect(state.reviewFlags("after-close").map(\.raisedBy) == [[late.text, close.text]])
            #expect(state.courseStatus == .closed)
            #expect(state.closingReason == "resolved")
            #expect(state.sessionsCompleted == 2)
            #expect(state.lastInjectionAt == day(20))
        }

        @Test("alert.cleared of kind merge-review clears the review flag it names (its first raising event); other kinds do not")
        func mergeReviewClears() throws {
            var history = try History.readyForInjections()
            let laptop = try history.record(Clinic.injection, at: day(0, hour: 10), origin: "laptop-1")
            let desk = try history.record(Clinic.injection, at: day(0, hour: 15), origin: "front-desk")
            try history.record(Clinic.cleared(.possibleInfection, raisedBy: [laptop, desk]), at: day(1))
            #expect(try history.state().reviewFlags("possible-duplicate").first?.cleared == false)
            try history.record(Clinic.cleared(.mergeReview, raisedBy: [desk]), at: day(1, hour: 10))
            #expect(try history.state().reviewFlags("possible-duplicate").first?.cleared == false)

            let review = try history.record(Clinic.cleared(.mergeReview, raisedBy: [laptop, desk]), at: day(1, hour: 11))
            let state = try history.state()
            #expect(state.reviewFlags("possible-duplicate").first?.clearedBy == review.text)
            #expect(state.sessionsCompleted == 2)
        }

        @Test("a merge-review clearance does not clear a safety alert")
        func mergeReviewLeavesAlerts() throws {
            var history = try History.readyForInjections()
            try history.record(Clinic.injection, at: day(0))
            let report = try history.record(try Clinic.sideEffect([.fever, .intensePain], grade: 2, onset: day(1)), at: day(1))
            try history.record(Clinic.cleared(.mergeReview, raisedBy: [report]), at: day(2))
            #expect(try history.state().alerts(.possibleInfection).first?.cleared == false)
        }
    }
}

// MARK: - Amendments and retractions

extension TreatmentFoldTests {
    @Suite("corrections")
    struct Corrections {
        @Test("event.amended replaces the target's payload: the latest pain changes and the target is listed as amended")
        func amendedPain() throws {
            var history = History()
            try history.record(try Clinic.exam(), at: day(0))
            let report = try history.record(Clinic.pain(nrs: 5), at: day(7))
            #expect(try history.state().latestPain.nrs == 5)
            try history.record(try Clinic.amended(report, to: Clinic.pain(nrs: 4)), at: day(8))
            let state = try history.state()
            #expect(state.latestPain.nrs == 4)
            #expect(state.amended == [report.text])
            #expect(state.eventCount == 3)
        }

        @Test("amending a side effect's grade from 3 to 1 removes its serious-adverse-event")
        func amendedSideEffect() throws {
            var history = try History.readyForInjections()
            try history.record(Clinic.injection, at: day(0))
            let report = try history.record(try Clinic.sideEffect([.bruising], grade: 3, onset: day(1)), at: day(1))
            #expect(try history.state().alerts(.seriousAdverseEvent).count == 1)
            try history.record(
                try Clinic.amended(report, to: try Clinic.sideEffect([.bruising], grade: 1, onset: day(1))), at: day(2))
            let state = try history.state()
            #expect(state.alerts(.seriousAdverseEvent).isEmpty)
            #expect(state.openSideEffects.map(\.grade) == [1])
        }

        @Test("retracting an amendment restores the original payload")
        func retractedAmendment() throws {
            var history = History()
            try history.record(try Clinic.exam(), at: day(0))
            let report = try history.record(Clinic.pain(nrs: 5), at: day(7))
            let amendment = try history.record(try Clinic.amended(report, to: Clinic.pain(nrs: 4)), at: day(8))
            try history.record(Clinic.retracted(amendment), at: day(9))
            let state = try history.state()
            #expect(state.latestPain.nrs == 5)
            #expect(state.amended.isEmpty)
        }

        /// Two injections 5 days apart (the second too soon), then the given corrections of the second.
        private func tooSoonSecondInjection() throws -> (history: History, second: EventID) {
            var history = try History.readyForInjections()
            try history.record(Clinic.injection, at: day(0))
            let second = try history.record(Clinic.injection, at: day(5))
            return (history, second)
        }

        @Test("a retracted injection is not counted and its alerts disappear")
        func retractedInjection() throws {
            let made = try tooSoonSecondInjection()
            var history = made.history
            let second = made.second
            #expect(try history.state().alerts(.sessionTooSoon).count == 1)
            try history.record(Clinic.retracted(second), at: day(6))
            let state = try history.state()
            #expect(state.injectionsTotal == 1)
            #expect(state.sessionsCompleted == 1)
            #expect(state.lastInjectionAt == day(0))
            #expect(state.alerts.isEmpty)
            #expect(state.retracted == [second.text])
        }

        @Test("a retraction of a retraction restores the original")
        func retractedRetraction() throws {
            let made = try tooSoonSecondInjection()
            var history = made.history
            let second = made.second
            let retraction = try history.record(Clinic.retracted(second), at: day(6))
            try history.record(Clinic.retracted(retraction), at: day(7))
            let state = try history.state()
            #expect(state.injectionsTotal == 2)
            #expect(state.sessionsCompleted == 2)
            #expect(state.alerts(.sessionTooSoon).count == 1)
            // The retracted retraction is listed; the injection it targeted is not.
            #expect(state.retracted == [retraction.text])
        }

        @Test("retracting the retraction of a retraction retracts the original again")
        func thirdRetraction() throws {
            let made = try tooSoonSecondInjection()
            var history = made.history
            let second = made.second
            let retraction = try history.record(Clinic.retracted(second), at: day(6))
            let undo = try history.record(Clinic.retracted(retraction), at: day(7))
            try history.record(Clinic.retracted(undo), at: day(8))
            let state = try history.state()
            #expect(state.injectionsTotal == 1)
            #expect(state.alerts(.sessionTooSoon).isEmpty)
            #expect(state.retracted.contains(second.text))
        }

        @Test("retracting a clearance reopens the alert")
        func retractedClearance() throws {
            var history = try History.readyForInjections()
            try history.record(Clinic.injection, at: day(0))
            let report = try history.record(try Clinic.sideEffect([.weakness], grade: 2, onset: day(1)), at: day(1))
            let clearance = try history.record(Clinic.cleared(.neurologicalRedFlag, raisedBy: [report]), at: day(2))
            #expect(try history.state().openAlerts.isEmpty)
            try history.record(Clinic.retracted(clearance), at: day(3))
            #expect(try history.state().openAlerts.map(\.kind) == [AlertKind.neurologicalRedFlag.rawValue])
        }
    }
}

// MARK: - Course summary, baseline and responder

extension TreatmentFoldTests {
    @Suite("course summary")
    struct CourseSummary {
        @Test("sessions are counted from the injections of the latest course")
        func latestCourse() throws {
            var history = try History.readyForInjections()
            let first = try #require(history.course)
            try history.record(Clinic.injection, at: day(0))
            try history.record(Clinic.injection, at: day(14))
            try history.record(Clinic.closed(first, reason: .noImprovement), at: day(20))
            let second = try history.record(try Clinic.course(sessions: 4), at: day(30))
            try history.record(Clinic.injection, at: day(35))
            let state = try history.state()
            #expect(state.course == second.text)
            #expect(state.courseStatus == .active)
            #expect(state.sessionsPlanned == 4)
            #expect(state.sessionsCompleted == 1)
            #expect(state.injectionsTotal == 3)
            #expect(state.firstInjectionAt == day(35))
            #expect(state.lastInjectionAt == day(35))
            #expect(state.reviewFlags.isEmpty)
        }

        @Test("the next session is due from last injection + minimum weeks to + maximum weeks; overdue from the next UTC day after it")
        func nextDue() throws {
            var history = try History.readyForInjections(sessions: 6, minWeeks: 2, maxWeeks: 4)
            try history.record(Clinic.injection, at: day(0))
            try history.record(Clinic.injection, at: day(14))
            let state = try history.state()
            let window = try #require(state.nextDue)
            #expect(window.from == day(28))
            #expect(window.to == day(42))
            #expect(!state.overdue(at: Timestamp(millisecondsSinceEpoch: day(30))))
            #expect(!state.overdue(at: Timestamp(millisecondsSinceEpoch: day(42))))
            #expect(!state.overdue(at: Timestamp(millisecondsSinceEpoch: day(43, hour: 0) - 1)), "23:59:59.999 on the last day")
            #expect(state.overdue(at: Timestamp(millisecondsSinceEpoch: day(43, hour: 0))), "00:00 the next UTC day")
        }

        @Test("no next session is due once the planned sessions are done")
        func sessionsDone() throws {
            var history = try History.readyForInjections(sessions: 2)
            try history.record(Clinic.injection, at: day(0))
            #expect(try history.state().nextDue != nil)
            try history.record(Clinic.injection, at: day(14))
            let state = try history.state()
            #expect(state.sessionsCompleted == 2)
            #expect(state.nextDue == nil)
            #expect(!state.overdue(at: Timestamp(millisecondsSinceEpoch: day(200))))
        }

        @Test("no next session is due when the course is closed")
        func closedCourse() throws {
            var history = try History.readyForInjections()
            let course = try #require(history.course)
            try history.record(Clinic.injection, at: day(0))
            try history.record(Clinic.closed(course, reason: .patientChoice), at: day(3))
            let state = try history.state()
            #expect(state.courseStatus == .closed)
            #expect(state.closingReason == "patient-choice")
            #expect(state.nextDue == nil)
            #expect(!state.overdue(at: Timestamp(millisecondsSinceEpoch: day(200))))
        }

        @Test("the baseline is the clinically first exam even when a later-dated exam was recorded first")
        func baselineFromFirstExam() throws {
            var history = History()
            try history.record(try Clinic.exam(nrs: 4, odi: 30), at: day(10))
            try history.record(try Clinic.exam(nrs: 8, odi: 60), at: day(0))
            try history.record(try Clinic.course(), at: day(1))
            let state = try history.state()
            #expect(state.baselinePain.nrs == 8 && state.baselinePain.odi == 60)
            #expect(state.latestPain.nrs == 4 && state.latestPain.odi == 30)
            #expect(state.improvementPercent.nrs == 50 && state.improvementPercent.odi == 50)
            #expect(state.responder)
        }

        @Test("the exam's ODI is the ODI baseline even when an NRS pain report came before the exam")
        func examODIAfterEarlierPainReport() throws {
            var history = History()
            try history.record(Clinic.pain(nrs: 7), at: day(-20))
            try history.record(try Clinic.exam(nrs: 7, odi: 42), at: day(-14))
            try history.record(try Clinic.course(), at: day(-7))
            try history.record(Clinic.pain(odi: 20), at: day(30))
            let state = try history.state()
            #expect(state.baselinePain.odi == 42)
            #expect(state.latestPain.odi == 20)
            #expect(state.responder)
        }

        struct Responder: Sendable, CustomTestStringConvertible {
            let nrs: Int
            let odi: Int
            let responder: Bool
            var testDescription: String { "NRS 10→\(nrs), ODI 100→\(odi): \(responder ? "" : "not ")a responder" }
        }

        @Test(
            "a responder's NRS or ODI dropped by at least 50 %",
            arguments: [
                Responder(nrs: 5, odi: 100, responder: true),
                Responder(nrs: 10, odi: 50, responder: true),
                Responder(nrs: 6, odi: 51, responder: false),
                Responder(nrs: 10, odi: 51, responder: false),
            ])
        func responder(_ example: Responder) throws {
            var history = History()
            try history.record(try Clinic.exam(nrs: 10, odi: 100), at: day(0))
            try history.record(try Clinic.course(), at: day(1))
            try history.record(Clinic.pain(nrs: example.nrs), at: day(60))
            try history.record(Clinic.pain(odi: example.odi), at: day(60, hour: 11))
            let state = try history.state()
            #expect(state.responder == example.responder)
            #expect(state.improvementPercent.nrs == Double(100 - 10 * example.nrs))
            #expect(state.improvementPercent.odi == Double(100 - example.odi))
        }
    }
}
