import ProloDomain
import ProloProjections
import Testing

/// The fold sees only the current shape (issue 15 item 4): v1 events, never rewritten, are upcast on read, so a
/// history recorded at v1 folds as the same history recorded at v2 without the facts v2 added.
@Suite("Upcast events in the fold")
struct UpcastFoldTests {
    @Test("a v1 exam and a v1 side-effect report fold exactly like their v2 forms without the new facts")
    func v1FoldsLikeV2() throws {
        var exam = try Clinic.exam()
        exam.bodyWeightKg = nil
        exam.allergies = nil
        exam.anticoagulantOrAntiplatelet = nil
        exam.bleedingDisorder = nil
        let report = try Clinic.sideEffect([.fever, .intensePain], grade: 2, temperatureC: 38.4, onset: day(2))
        func history(version: Int?) throws -> History {
            var history = History()
            try history.record(Clinic.consent(), at: day(-14, hour: 9))
            try history.record(exam, at: day(-14), schemaVersion: version)
            try history.record(try Clinic.course(), at: day(-7))
            try history.record(Clinic.injection, at: day(0))
            try history.record(report, at: day(2), schemaVersion: version)
            return history
        }
        let v1 = try history(version: 1)
        #expect(v1.events.filter { $0.schemaVersion == 1 }.count == 5)  // consent, course and injection are v1 today
        #expect(v1.events.allSatisfy { $0.unreadablePayload == nil })
        let v1State = try v1.state()
        #expect(v1State == (try history(version: nil).state()))
        #expect(v1State.alerts(.possibleInfection).count == 1)
    }

    @Test("the v2 body weight lowers the lidocaine limit: 250 mg is over 4.5 mg/kg for 50 kg, under the cap for 68 kg")
    func bodyWeight() throws {
        var injection = Clinic.injection
        injection.proliferant.lidocaineMgPerMl = try Quantity(checked: 10)
        for index in injection.sites.indices { injection.sites[index].volumeMl = try Quantity(checked: 6.25) }
        for (weight, raised) in [(50.0, true), (68.0, false)] {
            var exam = try Clinic.exam()
            exam.bodyWeightKg = try Quantity(checked: weight)
            var history = History()
            try history.record(Clinic.consent(), at: day(-14, hour: 9))
            try history.record(exam, at: day(-14))
            try history.record(try Clinic.course(), at: day(-7))
            try history.record(injection, at: day(0))
            #expect(try !history.state().alerts(.lidocaineDose).isEmpty == raised, "\(weight) kg")
        }
    }

    @Test("local signs with fever, or discharge alone, raise possible-infection (side-effect.reported v2)")
    func localSigns() throws {
        for (signs, temperature, raised) in [
            ([LocalSign.redness, .warmth], 38.2, true), ([.discharge], 36.8, true), ([.redness], 37.0, false),
        ] {
            var history = try History.readyForInjections()
            try history.record(Clinic.injection, at: day(0))
            var report = try Clinic.sideEffect([.postInjectionPain], grade: 2, temperatureC: temperature, onset: day(3))
            report.localSigns = signs
            try history.record(report, at: day(3))
            #expect(try !history.state().alerts(.possibleInfection).isEmpty == raised, "\(signs) at \(temperature) °C")
        }
    }

    @Test("chest pain at grade 1 raises breathlessness-or-chest-pain (Dagenais et al. 2006: pneumothorax)")
    func chestPain() throws {
        var history = try History.readyForInjections()
        try history.record(Clinic.injection, at: day(0))
        let report = try history.record(
            try Clinic.sideEffect([.chestPain], grade: 1, onset: day(0, hour: 15)), at: day(0, hour: 16))
        #expect(try history.state().alerts(.breathlessnessOrChestPain).map(\.raisedBy) == [[report.text]])
    }
}
