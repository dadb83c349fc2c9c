import ProloDomain
import ProloProjections
import Testing

/// The two safety fixes of issue 15: a clearance clears the one alert it names, and a side effect is judged against
/// the latest injection before its onset as well as the one the reporter named.
///
/// Source for both: DESIGN §5 ("a red flag blocks the next injection until cleared"; possible infection is fever
/// with intense pain or grade ≥ 3 within 14 days after an injection) and the seed article's aftercare advice
/// (fever or intense pain after an injection "may be a sign of an infection").
@Suite("Safety fixes: clearance matching and the injection a side effect follows")
struct SafetyFixTests {
    @Test(
        "clearing possible-infection raised by [R1, I1] does not clear a later one raised by [R2, I1]; the next injection raises injection-while-red-flag (DESIGN §5)"
    )
    func clearanceDoesNotReachALaterAlertSharingTheInjection() throws {
        var history = try History.readyForInjections()
        let first = try history.record(Clinic.injection, at: day(0))
        let r1 = try history.record(
            try Clinic.sideEffect([.fever, .intensePain], grade: 2, temperatureC: 38.4, onset: day(2)), at: day(2))
        let clearance = try history.record(Clinic.cleared(.possibleInfection, raisedBy: [r1, first]), at: day(3))
        let r2 = try history.record(
            try Clinic.sideEffect(
                [.fever, .intensePain], grade: 2, temperatureC: 38.9, onset: day(6), relatedInjection: first),
            at: day(6))
        let second = try history.record(Clinic.injection, at: day(14))

        let state = try history.state()
        let infections = state.alerts(.possibleInfection)
        #expect(infections.map(\.raisedBy) == [[r1.text, first.text], [r2.text, first.text]])
        #expect(infections.map(\.clearedBy) == [clearance.text, nil])
        #expect(state.alerts(.injectionWhileRedFlag).map(\.raisedBy) == [[second.text, r2.text, first.text]])
    }

    @Test(
        "a clearance dated before the alert was raised does not clear it, and the next injection is flagged (DESIGN §5)"
    )
    func clearanceBeforeTheAlertDoesNotClearIt() throws {
        var history = try History.readyForInjections()
        try history.record(Clinic.injection, at: day(0))
        let report = try history.record(
            try Clinic.sideEffect([.fever, .intensePain], grade: 2, temperatureC: 38.4, onset: day(2)),
            at: day(2, hour: 12))
        try history.record(Clinic.cleared(.possibleInfection, raisedBy: [report]), at: day(2, hour: 9))
        let next = try history.record(Clinic.injection, at: day(16))
        let state = try history.state()
        #expect(state.alerts(.possibleInfection).first?.cleared == false)
        #expect(state.alerts(.injectionWhileRedFlag).first?.raisedBy.first == next.text)
    }

    @Test(
        "a clearance that names the alert's raising event and follows it still clears it, and the next injection goes ahead (DESIGN §5)"
    )
    func namedClearanceStillClears() throws {
        var history = try History.readyForInjections()
        try history.record(Clinic.injection, at: day(0))
        let report = try history.record(
            try Clinic.sideEffect([.fever, .intensePain], grade: 2, temperatureC: 38.4, onset: day(2)), at: day(2))
        let clearance = try history.record(Clinic.cleared(.possibleInfection, raisedBy: [report]), at: day(4))
        try history.record(Clinic.injection, at: day(16))
        let state = try history.state()
        #expect(state.alerts(.possibleInfection).first?.clearedBy == clearance.text)
        #expect(state.alerts(.injectionWhileRedFlag).isEmpty)
    }

    @Test(
        "a report naming an older injection still raises possible-infection when another injection was two days before onset (seed article: fever after an injection may be an infection)"
    )
    func latestInjectionBeforeOnsetIsLookedAt() throws {
        var history = try History.readyForInjections()
        let old = try history.record(Clinic.injection, at: day(0))
        let recent = try history.record(Clinic.injection, at: day(20))
        let report = try history.record(
            try Clinic.sideEffect(
                [.fever, .intensePain], grade: 2, temperatureC: 38.5, onset: day(22), relatedInjection: old),
            at: day(22, hour: 12))
        let state = try history.state()
        #expect(state.alerts(.possibleInfection).map(\.raisedBy) == [[report.text, recent.text]])
    }

    @Test("a report naming the injection two days before onset raises possible-infection against it (DESIGN §5)")
    func namedRecentInjection() throws {
        var history = try History.readyForInjections()
        try history.record(Clinic.injection, at: day(0))
        let recent = try history.record(Clinic.injection, at: day(20))
        let report = try history.record(
            try Clinic.sideEffect([.fever], grade: 3, temperatureC: 38.2, onset: day(22), relatedInjection: recent),
            at: day(22, hour: 12))
        #expect(try history.state().alerts(.possibleInfection).map(\.raisedBy) == [[report.text, recent.text]])
    }
}
