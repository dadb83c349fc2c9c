import Foundation
import ProloDomain
import ProloProjections
import ProloStore
import ProloTestSupport
import Testing

/// Writes a scenario's events: into a ``History`` for the pure fold, or into a projected store for the read models.
protocol ScenarioRecorder {
    /// Records `payload` at clinical time `occurredAt` and returns the new event's id.
    mutating func add<Payload: EventPayload>(_ payload: Payload, at occurredAt: Int64) throws -> EventID
}

extension History: ScenarioRecorder {
    mutating func add<Payload: EventPayload>(_ payload: Payload, at occurredAt: Int64) throws -> EventID {
        try record(payload, at: occurredAt)
    }
}

/// Appends each event as its own signed batch, so the read models update event by event as on a clinic device.
struct StoreRecorder: ScenarioRecorder {
    let store: ProjectedStore
    let key: DeviceKey
    let patient: PatientID

    mutating func add<Payload: EventPayload>(_ payload: Payload, at occurredAt: Int64) throws -> EventID {
        let draft = try EventDraft(
            payload, patient: patient, occurredAt: Timestamp(millisecondsSinceEpoch: occurredAt),
            author: Fixtures.clinician)
        return try store.store.record([draft], signedBy: key)[0].event.id
    }
}

/// One clinical scenario: a patient's events in; the open alerts, open review flags and whether the next injection
/// is blocked out; and the source the expectation rests on.
struct ClinicalScenario: Sendable, CustomTestStringConvertible {
    let name: String
    let source: String
    let alerts: [AlertKind]
    let reviewFlags: [String]
    let blocked: Bool
    let events: @Sendable (inout any ScenarioRecorder) throws -> Void

    init(
        _ name: String, source: String, alerts: [AlertKind] = [], reviewFlags: [String] = [], blocked: Bool = false,
        events: @escaping @Sendable (inout any ScenarioRecorder) throws -> Void
    ) {
        self.name = name
        self.source = source
        self.alerts = alerts
        self.reviewFlags = reviewFlags
        self.blocked = blocked
        self.events = events
    }

    var testDescription: String { "\(name) — \(source)" }

    /// Consent and an exam (NRS 7, ODI 42) on day −14 and a course (6 sessions, 2–4 weeks) on day −7.
    static func ready(_ recorder: inout any ScenarioRecorder, exam: ExamRecorded? = nil, sessions: Int = 6) throws {
        _ = try recorder.add(Clinic.consent(), at: day(-14, hour: 9))
        _ = try recorder.add(try exam ?? Clinic.exam(), at: day(-14))
        _ = try recorder.add(try Clinic.course(sessions: sessions), at: day(-7))
    }
}

/// The clinical scenario suite (issue 15, item 6): every rule of `Schemas/clinical-rules.md`, each scenario citing its
/// source, held to the pure fold and to the SQLite read models with one table.
@Suite("Clinical scenarios")
struct ClinicalScenarioTests {
    static let seed = "seed article: fever or intense pain after an injection may be a sign of an infection"
    static let design = "DESIGN §5: a red flag blocks the next injection until cleared"
    static let ctcae = "CTCAE v5.0: grade 3 is severe or medically significant"
    static let lidocaineDuration = "lidocaine acts 1–2 h (Xylocaine prescribing information); policy window 4 h"
    static let caudaEquina = "cauda equina and neurological red flags (NICE NG59; Greenhalgh & Selfe 2009)"
    static let pneumothorax =
        "Dagenais et al. 2006: pneumothorax among the most reported serious events after prolotherapy"
    static let lidocaineDose =
        "lidocaine without adrenaline: 4.5 mg/kg, at most 300 mg (Xylocaine prescribing information)"
    static let redFlags = "low back pain red flags (NICE NG59; Verhagen et al. 2016)"
    static let mic =
        "minimal important change: NRS 2 points or 30 %, ODI 10, Roland-Morris 5, VAS 15 mm (Ostelo et al. 2008)"
    static let clinicProtocol = "clinic protocol: course.planned interval and sessions (DESIGN §10)"

    static func injection(
        reaction: InjectionAdministered.ImmediateReaction = .noReaction, lidocaineMgPerMl: Double? = nil,
        volumeMl: Double? = nil
    ) throws -> InjectionAdministered {
        var injection = Clinic.injection
        injection.immediateReaction = reaction
        if let lidocaineMgPerMl { injection.proliferant.lidocaineMgPerMl = try Quantity(checked: lidocaineMgPerMl) }
        if let volumeMl {
            for index in injection.sites.indices { injection.sites[index].volumeMl = try Quantity(checked: volumeMl) }
        }
        return injection
    }

    static func report(
        _ kinds: [SideEffectKind], grade: Int = 1, temperatureC: Double? = nil, onset: Int64, related: EventID? = nil
    ) throws -> SideEffectReported {
        try Clinic.sideEffect(kinds, grade: grade, temperatureC: temperatureC, onset: onset, relatedInjection: related)
    }

    static func resolved(_ report: EventID, at time: Int64) -> SideEffectResolved {
        SideEffectResolved(
            report: report, resolvedAt: Timestamp(millisecondsSinceEpoch: time), outcome: .recovered,
            recordedBy: Clinic.patientReporter)
    }

    static func exam(
        nrs: Int = 7, odi: Int = 42, redFlags: ExamRecorded.RedFlagScreen = .init(), motorNormal: Bool = true,
        candidate: Bool = true
    ) throws -> ExamRecorded {
        var exam = try Clinic.exam(nrs: nrs, odi: odi, redFlags: redFlags)
        exam.neuroScreen.motorNormal = motorNormal
        exam.decision.candidate = candidate
        return exam
    }

    static func pain(_ instrument: PainInstrument, _ score: Int) -> PainReported {
        PainReported(instrument: instrument, score: score, reporter: Clinic.patientReporter)
    }

    /// Three sessions (days 0, 21, 42), the outcome scores given before the first and after the third.
    static func threeSessions(
        _ r: inout any ScenarioRecorder, exam nrs: Int = 7, before: [PainReported] = [], after: [PainReported]
    ) throws {
        try ClinicalScenario.ready(&r, exam: try exam(nrs: nrs))
        for score in before { _ = try r.add(score, at: day(-1)) }
        for session in [0, 21, 42] { _ = try r.add(Clinic.injection, at: day(session)) }
        for score in after { _ = try r.add(score, at: day(49)) }
    }

    static let scenarios: [ClinicalScenario] =
        infection + neurological + anyGrade + injectionRules + exams
        + improvement + sessions + version2

    // MARK: Facts of the v2 schemas

    static func signs(_ signs: [LocalSign], temperatureC: Double?, onset: Int64) throws -> SideEffectReported {
        var report = try report([.postInjectionPain], grade: 2, temperatureC: temperatureC, onset: onset)
        report.localSigns = signs
        return report
    }

    static let version2: [ClinicalScenario] = [
        .init(
            "chest pain at grade 1 after an injection (side-effect.reported v2)", source: pneumothorax,
            alerts: [.breathlessnessOrChestPain]
        ) { r in
            try ClinicalScenario.ready(&r)
            _ = try r.add(Clinic.injection, at: day(0))
            _ = try r.add(try report([.chestPain], onset: day(0, hour: 15)), at: day(0, hour: 16))
        },
        .init(
            "redness and warmth with 38.2 °C three days after an injection (v2 local signs)", source: seed,
            alerts: [.possibleInfection], blocked: true
        ) { r in
            try ClinicalScenario.ready(&r)
            _ = try r.add(Clinic.injection, at: day(0))
            _ = try r.add(try signs([.redness, .warmth], temperatureC: 38.2, onset: day(3)), at: day(3))
        },
        .init(
            "discharge from an injection site without fever (v2 local signs)", source: seed,
            alerts: [.possibleInfection], blocked: true
        ) { r in
            try ClinicalScenario.ready(&r)
            _ = try r.add(Clinic.injection, at: day(0))
            _ = try r.add(try signs([.discharge], temperatureC: 36.9, onset: day(4)), at: day(4))
        },
        .init("redness alone without fever is the expected flare", source: seed) { r in
            try ClinicalScenario.ready(&r)
            _ = try r.add(Clinic.injection, at: day(0))
            _ = try r.add(try signs([.redness], temperatureC: 37.0, onset: day(1)), at: day(1))
        },
        .init(
            "250 mg of lidocaine for a 50 kg patient is over 4.5 mg/kg (exam.recorded v2 body weight)",
            source: lidocaineDose, alerts: [.lidocaineDose]
        ) { r in
            var weighed = try exam()
            weighed.bodyWeightKg = try Quantity(checked: 50)
            try ClinicalScenario.ready(&r, exam: weighed)
            _ = try r.add(try injection(lidocaineMgPerMl: 10, volumeMl: 6.25), at: day(0))
        },
    ]

    // MARK: Infection, intense pain, serious adverse events

    static let infection: [ClinicalScenario] = [
        .init(
            "fever 38.4 °C with intense pain two days after an injection", source: seed, alerts: [.possibleInfection],
            blocked: true
        ) { r in
            try ClinicalScenario.ready(&r)
            _ = try r.add(Clinic.injection, at: day(0))
            _ = try r.add(try report([.intensePain], grade: 2, temperatureC: 38.4, onset: day(2)), at: day(2))
        },
        .init(
            "37.9 °C with intense pain is not an infection but asks a clinician to look", source: seed,
            reviewFlags: [ReviewFlagKind.intensePain]
        ) { r in
            try ClinicalScenario.ready(&r)
            _ = try r.add(Clinic.injection, at: day(0))
            _ = try r.add(try report([.intensePain], grade: 2, temperatureC: 37.9, onset: day(2)), at: day(2))
        },
        .init(
            "reported fever with grade 3 is a possible infection and a serious adverse event", source: ctcae,
            alerts: [.possibleInfection, .seriousAdverseEvent], blocked: true
        ) { r in
            try ClinicalScenario.ready(&r)
            _ = try r.add(Clinic.injection, at: day(0))
            _ = try r.add(try report([.fever], grade: 3, onset: day(3)), at: day(3))
        },
        .init(
            "fever with intense pain 15 calendar days after the injection is outside the window",
            source: "DESIGN §5: within 14 days after an injection"
        ) { r in
            try ClinicalScenario.ready(&r)
            _ = try r.add(Clinic.injection, at: day(0))
            _ = try r.add(
                try report([.fever, .intensePain], grade: 2, temperatureC: 38.5, onset: day(15)), at: day(15))
        },
        .init(
            "a report naming an older injection is judged against the one two days before onset", source: seed,
            alerts: [.possibleInfection], blocked: true
        ) { r in
            try ClinicalScenario.ready(&r)
            let old = try r.add(Clinic.injection, at: day(0))
            _ = try r.add(Clinic.injection, at: day(20))
            _ = try r.add(
                try report([.fever, .intensePain], grade: 2, temperatureC: 38.5, onset: day(22), related: old),
                at: day(22))
        },
        .init(
            "clearing [R1, I1] leaves a later [R2, I1] open and the next injection is flagged", source: design,
            alerts: [.possibleInfection, .injectionWhileRedFlag], blocked: true
        ) { r in
            try ClinicalScenario.ready(&r)
            let first = try r.add(Clinic.injection, at: day(0))
            let r1 = try r.add(
                try report([.fever, .intensePain], grade: 2, temperatureC: 38.4, onset: day(2)), at: day(2))
            _ = try r.add(Clinic.cleared(.possibleInfection, raisedBy: [r1, first]), at: day(3))
            _ = try r.add(
                try report([.fever, .intensePain], grade: 2, temperatureC: 38.9, onset: day(6), related: first),
                at: day(6))
            _ = try r.add(Clinic.injection, at: day(14))
        },
        .init("a cleared infection lets the next injection go ahead", source: design) { r in
            try ClinicalScenario.ready(&r)
            _ = try r.add(Clinic.injection, at: day(0))
            let report = try r.add(
                try report([.fever, .intensePain], grade: 2, temperatureC: 38.4, onset: day(2)), at: day(2))
            _ = try r.add(Clinic.cleared(.possibleInfection, raisedBy: [report]), at: day(4))
            _ = try r.add(Clinic.injection, at: day(16))
        },
        .init(
            "a clearance dated before the alert does not clear it", source: design, alerts: [.possibleInfection],
            blocked: true
        ) { r in
            try ClinicalScenario.ready(&r)
            _ = try r.add(Clinic.injection, at: day(0))
            let report = try r.add(
                try report([.fever, .intensePain], grade: 2, temperatureC: 38.4, onset: day(2)), at: day(2, hour: 12))
            _ = try r.add(Clinic.cleared(.possibleInfection, raisedBy: [report]), at: day(2, hour: 9))
        },
        .init(
            "grade 3 bruising is a serious adverse event that blocks the next injection", source: ctcae,
            alerts: [.seriousAdverseEvent], blocked: true
        ) { r in
            try ClinicalScenario.ready(&r)
            _ = try r.add(Clinic.injection, at: day(0))
            _ = try r.add(try report([.bruising], grade: 3, onset: day(1)), at: day(1))
        },
        .init(
            "an injection after an uncleared serious adverse event is flagged", source: ctcae + "; " + design,
            alerts: [.seriousAdverseEvent, .injectionWhileRedFlag], blocked: true
        ) { r in
            try ClinicalScenario.ready(&r)
            _ = try r.add(Clinic.injection, at: day(0))
            _ = try r.add(try report([.bruising], grade: 3, onset: day(1)), at: day(1))
            _ = try r.add(Clinic.injection, at: day(21))
        },
        .init("a cleared serious adverse event lets the next injection go ahead", source: ctcae + "; " + design) { r in
            try ClinicalScenario.ready(&r)
            _ = try r.add(Clinic.injection, at: day(0))
            let report = try r.add(try report([.bruising], grade: 3, onset: day(1)), at: day(1))
            _ = try r.add(Clinic.cleared(.seriousAdverseEvent, raisedBy: [report]), at: day(5))
            _ = try r.add(Clinic.injection, at: day(21))
        },
        .init("grade 2 post-injection pain raises nothing", source: ctcae) { r in
            try ClinicalScenario.ready(&r)
            _ = try r.add(Clinic.injection, at: day(0))
            _ = try r.add(try report([.postInjectionPain], grade: 2, onset: day(1)), at: day(1))
        },
    ]

    // MARK: Neurological red flags

    static let neurological: [ClinicalScenario] = [
        .init("numbness one hour after the injection, gone by three hours, is the lidocaine", source: lidocaineDuration)
        { r in
            try ClinicalScenario.ready(&r)
            _ = try r.add(Clinic.injection, at: day(0))
            let report = try r.add(try report([.numbness], onset: day(0, hour: 11)), at: day(0, hour: 12))
            _ = try r.add(resolved(report, at: day(0, hour: 13)), at: day(0, hour: 13))
        },
        .init(
            "numbness that began in the first hour and is reported six hours later persists: red flag",
            source: lidocaineDuration + "; " + caudaEquina, alerts: [.neurologicalRedFlag], blocked: true
        ) { r in
            try ClinicalScenario.ready(&r)
            _ = try r.add(Clinic.injection, at: day(0))
            _ = try r.add(try report([.numbness], onset: day(0, hour: 11)), at: day(0, hour: 16))
        },
        .init(
            "numbness that began in the first hour and resolved only after eight hours: red flag",
            source: lidocaineDuration, alerts: [.neurologicalRedFlag], blocked: true
        ) { r in
            try ClinicalScenario.ready(&r)
            _ = try r.add(Clinic.injection, at: day(0))
            let report = try r.add(try report([.numbness], onset: day(0, hour: 11)), at: day(0, hour: 12))
            _ = try r.add(resolved(report, at: day(0, hour: 18)), at: day(0, hour: 18))
        },
        .init(
            "numbness beginning two days after the injection: red flag", source: caudaEquina,
            alerts: [.neurologicalRedFlag], blocked: true
        ) { r in
            try ClinicalScenario.ready(&r)
            _ = try r.add(Clinic.injection, at: day(0))
            _ = try r.add(try report([.numbness], onset: day(2)), at: day(2))
        },
        .init("weakness: red flag", source: caudaEquina, alerts: [.neurologicalRedFlag], blocked: true) { r in
            try ClinicalScenario.ready(&r)
            _ = try r.add(Clinic.injection, at: day(0))
            _ = try r.add(try report([.weakness], onset: day(0, hour: 11)), at: day(0, hour: 11))
        },
        .init("tingling: red flag", source: caudaEquina, alerts: [.neurologicalRedFlag], blocked: true) { r in
            try ClinicalScenario.ready(&r)
            _ = try r.add(Clinic.injection, at: day(0))
            _ = try r.add(try report([.tingling], onset: day(1)), at: day(1))
        },
        .init("saddle anaesthesia: red flag", source: caudaEquina, alerts: [.neurologicalRedFlag], blocked: true) { r in
            try ClinicalScenario.ready(&r)
            _ = try r.add(Clinic.injection, at: day(0))
            _ = try r.add(try report([.saddleAnaesthesia], onset: day(1)), at: day(1))
        },
        .init(
            "bladder or bowel change, with grade 3: red flag and serious adverse event",
            source: caudaEquina + "; " + ctcae, alerts: [.neurologicalRedFlag, .seriousAdverseEvent], blocked: true
        ) { r in
            try ClinicalScenario.ready(&r)
            _ = try r.add(Clinic.injection, at: day(0))
            _ = try r.add(try report([.bladderBowelChange], grade: 3, onset: day(1)), at: day(1))
        },
        .init(
            "an exam with an abnormal motor screen: red flag before any injection", source: caudaEquina,
            alerts: [.neurologicalRedFlag], blocked: true
        ) { r in
            try ClinicalScenario.ready(&r, exam: try exam(motorNormal: false))
        },
        .init(
            "an exam finding saddle anaesthesia, then an injection: flagged", source: caudaEquina + "; " + design,
            alerts: [.neurologicalRedFlag, .injectionWhileRedFlag], blocked: true
        ) { r in
            try ClinicalScenario.ready(&r, exam: try exam(redFlags: .init(saddleAnaesthesia: true)))
            _ = try r.add(Clinic.injection, at: day(0))
        },
    ]

    // MARK: Alerts at any grade

    static let anyGrade: [ClinicalScenario] = [
        .init(
            "breathlessness at grade 1 after an injection", source: pneumothorax, alerts: [.breathlessnessOrChestPain]
        ) { r in
            try ClinicalScenario.ready(&r)
            _ = try r.add(Clinic.injection, at: day(0))
            _ = try r.add(try report([.breathlessness], onset: day(0, hour: 14)), at: day(0, hour: 15))
        },
        .init(
            "an allergic reaction at grade 1", source: "consent risks: allergic reaction (DESIGN §10)",
            alerts: [.allergicReaction]
        ) { r in
            try ClinicalScenario.ready(&r)
            _ = try r.add(Clinic.injection, at: day(0))
            _ = try r.add(try report([.allergicReaction], onset: day(0, hour: 12)), at: day(0, hour: 12))
        },
        .init(
            "a headache at grade 1 the day after an injection",
            source: "Dagenais et al. 2006: headache after spinal injections", alerts: [.postInjectionHeadache]
        ) { r in
            try ClinicalScenario.ready(&r)
            _ = try r.add(Clinic.injection, at: day(0))
            _ = try r.add(try report([.headache], onset: day(1)), at: day(1))
        },
        .init("a headache with no injection before it is not post-injection", source: "Dagenais et al. 2006") { r in
            try ClinicalScenario.ready(&r)
            _ = try r.add(try report([.headache], onset: day(1)), at: day(1))
        },
        .init(
            "a headache 20 days after the injection is outside the window",
            source: "Dagenais et al. 2006; policy window 14 days"
        ) { r in
            try ClinicalScenario.ready(&r)
            _ = try r.add(Clinic.injection, at: day(0))
            _ = try r.add(try report([.headache], onset: day(20)), at: day(20))
        },
    ]

    // MARK: The injection itself

    static let injectionRules: [ClinicalScenario] = [
        .init(
            "an allergic immediate reaction at the injection", source: "DESIGN §10: injection immediate reaction",
            alerts: [.allergicReaction]
        ) { r in
            try ClinicalScenario.ready(&r)
            _ = try r.add(try injection(reaction: .allergic), at: day(0))
        },
        .init(
            "bleeding that needed pressure at the injection", source: "DESIGN §10: injection immediate reaction",
            alerts: [.immediateReaction]
        ) { r in
            try ClinicalScenario.ready(&r)
            _ = try r.add(try injection(reaction: .bleeding), at: day(0))
        },
        .init(
            "a vasovagal episode at the injection", source: "DESIGN §10: injection immediate reaction",
            alerts: [.immediateReaction]
        ) { r in
            try ClinicalScenario.ready(&r)
            _ = try r.add(try injection(reaction: .vasovagal), at: day(0))
        },
        .init(
            "400 mg of lidocaine in one session (20 mg/mL × 20 mL) is over the 300 mg cap", source: lidocaineDose,
            alerts: [.lidocaineDose]
        ) { r in
            try ClinicalScenario.ready(&r)
            _ = try r.add(try injection(lidocaineMgPerMl: 20, volumeMl: 5), at: day(0))
        },
        .init("20 mg of lidocaine (2 mg/mL × 10 mL) is well under the cap", source: lidocaineDose) { r in
            try ClinicalScenario.ready(&r)
            _ = try r.add(try injection(), at: day(0))
        },
        .init(
            "an injection without consent", source: "DESIGN §5: injection without consent",
            alerts: [.injectionWithoutConsent]
        ) { r in
            _ = try r.add(try Clinic.exam(), at: day(-14))
            _ = try r.add(try Clinic.course(), at: day(-7))
            _ = try r.add(Clinic.injection, at: day(0))
        },
    ]

    // MARK: Exams

    static let exams: [ClinicalScenario] = [
        .init(
            "an exam recording cancer history blocks injections", source: redFlags, alerts: [.examRedFlag],
            blocked: true
        ) { r in
            try ClinicalScenario.ready(&r, exam: try exam(redFlags: .init(cancerHistory: true)))
        },
        .init("an exam recording fever blocks injections", source: redFlags, alerts: [.examRedFlag], blocked: true) {
            r in
            try ClinicalScenario.ready(&r, exam: try exam(redFlags: .init(fever: true)))
        },
        .init(
            "an exam recording unexplained weight loss blocks injections", source: redFlags, alerts: [.examRedFlag],
            blocked: true
        ) { r in
            try ClinicalScenario.ready(&r, exam: try exam(redFlags: .init(unexplainedWeightLoss: true)))
        },
        .init(
            "an injection after an exam recording immunosuppression is flagged", source: redFlags + "; " + design,
            alerts: [.examRedFlag, .injectionWhileRedFlag], blocked: true
        ) { r in
            try ClinicalScenario.ready(&r, exam: try exam(redFlags: .init(immunosuppression: true)))
            _ = try r.add(Clinic.injection, at: day(0))
        },
        .init("a cleared exam red flag lets the injection go ahead", source: redFlags + "; " + design) { r in
            _ = try r.add(Clinic.consent(), at: day(-14, hour: 9))
            let examID = try r.add(try exam(redFlags: .init(cancerHistory: true)), at: day(-14))
            _ = try r.add(try Clinic.course(), at: day(-7))
            _ = try r.add(Clinic.cleared(.examRedFlag, raisedBy: [examID]), at: day(-3))
            _ = try r.add(Clinic.injection, at: day(0))
        },
        .init(
            "an exam deciding \"not a candidate\" blocks injections", source: "DESIGN §10: exam decision",
            alerts: [.notACandidate], blocked: true
        ) { r in
            try ClinicalScenario.ready(&r, exam: try exam(candidate: false))
        },
    ]

    // MARK: No improvement

    static let improvement: [ClinicalScenario] = [
        .init("three sessions and no outcome score after them: missing data is not no improvement", source: mic) { r in
            try threeSessions(&r, after: [])
        },
        .init(
            "NRS 7 → 6 after three sessions is below the minimal important change", source: mic,
            alerts: [.noImprovement]
        ) { r in
            try threeSessions(&r, after: [pain(.nrs, 6)])
        },
        .init("NRS 7 → 5 after three sessions is 2 points: improved", source: mic) { r in
            try threeSessions(&r, after: [pain(.nrs, 5)])
        },
        .init("NRS 3 → 2 after three sessions is 33 %: improved", source: mic) { r in
            try threeSessions(&r, exam: 3, after: [pain(.nrs, 2)])
        },
        .init("ODI 42 → 35 after three sessions is 7 points: no improvement", source: mic, alerts: [.noImprovement]) {
            r in
            try threeSessions(&r, after: [pain(.odi, 35)])
        },
        .init("ODI 42 → 32 after three sessions is 10 points: improved", source: mic) { r in
            try threeSessions(&r, after: [pain(.odi, 32)])
        },
        .init("Roland-Morris 14 → 9 is 5 points: improved even with NRS unchanged", source: mic) { r in
            try threeSessions(&r, before: [pain(.rolandMorris, 14)], after: [pain(.nrs, 7), pain(.rolandMorris, 9)])
        },
        .init("Roland-Morris 14 → 10 with NRS unchanged: no improvement", source: mic, alerts: [.noImprovement]) { r in
            try threeSessions(&r, before: [pain(.rolandMorris, 14)], after: [pain(.nrs, 7), pain(.rolandMorris, 10)])
        },
        .init("VAS 70 → 55 mm is 15 mm: improved", source: mic) { r in
            try threeSessions(&r, before: [pain(.vas, 70)], after: [pain(.vas, 55)])
        },
        .init("VAS 70 → 60 mm is 10 mm: no improvement", source: mic, alerts: [.noImprovement]) { r in
            try threeSessions(&r, before: [pain(.vas, 70)], after: [pain(.vas, 60)])
        },
    ]

    // MARK: Sessions

    static let sessions: [ClinicalScenario] = [
        .init(
            "a second session 13 calendar days after the first is too soon for a 2-week minimum",
            source: clinicProtocol, alerts: [.sessionTooSoon]
        ) { r in
            try ClinicalScenario.ready(&r)
            _ = try r.add(Clinic.injection, at: day(0))
            _ = try r.add(Clinic.injection, at: day(13))
        },
        .init("14 calendar days apart is not too soon, though fewer than 14 × 24 hours", source: clinicProtocol) { r in
            try ClinicalScenario.ready(&r)
            _ = try r.add(Clinic.injection, at: day(0, hour: 15))
            _ = try r.add(Clinic.injection, at: day(14, hour: 9))
        },
        .init("the gap is checked across a course boundary", source: clinicProtocol, alerts: [.sessionTooSoon]) { r in
            try ClinicalScenario.ready(&r)
            _ = try r.add(Clinic.injection, at: day(0))
            _ = try r.add(try Clinic.course(), at: day(3))
            _ = try r.add(Clinic.injection, at: day(7))
        },
        .init("a third session in a course planned for two", source: clinicProtocol, alerts: [.sessionsBeyondPlan]) {
            r in
            try ClinicalScenario.ready(&r, sessions: 2)
            for session in [0, 21, 42] { _ = try r.add(Clinic.injection, at: day(session)) }
        },
    ]

    @Test(
        "each scenario's open alerts, review flags and block are the same from the pure fold and from the read models",
        arguments: scenarios)
    func scenario(_ scenario: ClinicalScenario) throws {
        var history: any ScenarioRecorder = History()
        try scenario.events(&history)
        let folded = try #require(history as? History).state()
        Self.check(folded, against: scenario, from: "fold")

        try TemporaryDirectory.with { directory in
            let key = DeviceKey()
            let store = try ProjectedStore.create(at: directory.file("clinic.sqlite"), deviceName: "clinic", key: key)
            var recorder: any ScenarioRecorder = StoreRecorder(store: store, key: key, patient: "p-0001")
            try scenario.events(&recorder)
            let stored = try #require(try store.state(of: "p-0001"))
            Self.check(stored, against: scenario, from: "read model")
            let listed = try store.openAlerts().filter { $0.patient == "p-0001" && !$0.isReviewFlag }.map(\.kind)
                .sorted()
            #expect(listed == scenario.alerts.map(\.rawValue).sorted(), "read model's open-alert list")
        }
    }

    @Test("the suite has at least 40 scenarios, each naming its source")
    func enoughScenarios() {
        #expect(Self.scenarios.count >= 40)
        #expect(Self.scenarios.allSatisfy { !$0.source.isEmpty })
    }

    static func check(_ state: TreatmentState, against scenario: ClinicalScenario, from origin: Comment) {
        #expect(state.openAlerts.map(\.kind).sorted() == scenario.alerts.map(\.rawValue).sorted(), origin)
        #expect(state.reviewFlags.filter { !$0.cleared }.map(\.kind).sorted() == scenario.reviewFlags.sorted(), origin)
        #expect(!state.blockingAlerts.isEmpty == scenario.blocked, origin)
    }
}
