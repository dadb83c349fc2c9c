import ProloDomain
import ProloProjections
import Testing

/// The one wording of urgent advice (issue 15 item 5), shared by `prolo record` and a future home app.
@Suite("Urgent advice")
struct UrgentAdviceTests {
    @Test(
        "possible infection, neurological red flag, breathlessness or chest pain and allergic reaction have advice; other alerts do not"
    )
    func urgentKinds() {
        let urgent = AlertKind.allCases.filter { UrgentAdvice.advice(for: $0) != nil }
        #expect(
            Set(urgent) == [.possibleInfection, .neurologicalRedFlag, .breathlessnessOrChestPain, .allergicReaction])
        #expect(urgent.allSatisfy { UrgentAdvice.advice(for: $0)?.text.contains("clinic") == true })
    }

    @Test(
        "cauda equina signs and breathlessness send the patient to emergency services; a possible infection to the clinic now"
    )
    func emergency() throws {
        let neurological = try #require(UrgentAdvice.advice(for: .neurologicalRedFlag))
        #expect(neurological.callEmergencyServices && neurological.text.contains("emergency services"))
        #expect(neurological.text.contains("bladder or bowel"))
        let breathless = try #require(UrgentAdvice.advice(for: .breathlessnessOrChestPain))
        #expect(breathless.callEmergencyServices && breathless.text.contains("emergency services now"))
        let infection = try #require(UrgentAdvice.advice(for: .possibleInfection))
        #expect(!infection.callEmergencyServices && infection.text.contains("Contact the clinic now"))
    }

    @Test("the advice for a report is that of the open urgent alerts it raised, most severe first")
    func adviceForAReport() throws {
        var history = try History.readyForInjections()
        try history.record(Clinic.injection, at: day(0))
        let report = try history.record(
            try Clinic.sideEffect(
                [.fever, .intensePain, .breathlessness], grade: 2, temperatureC: 38.6, onset: day(2)),
            at: day(2))
        let advice = UrgentAdvice.advice(for: try history.state(), raisedBy: report.text)
        #expect(advice.map(\.alert) == [.breathlessnessOrChestPain, .possibleInfection])
        try history.record(Clinic.cleared(.possibleInfection, raisedBy: [report]), at: day(3))
        #expect(
            UrgentAdvice.advice(for: try history.state(), raisedBy: report.text).map(\.alert) == [
                .breathlessnessOrChestPain
            ])
    }
}
