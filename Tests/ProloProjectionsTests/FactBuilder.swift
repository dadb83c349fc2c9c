import Foundation
import ProloDomain
import ProloProjections
import ProloTestSupport

// Small builders for the fold tests: a patient's history written event by event, with clinical times on a
// calendar that starts at midnight UTC, and the catalog payloads with only the fields a test cares about.

/// Milliseconds in a day and in an hour.
let dayMs: Int64 = 86_400_000
let hourMs: Int64 = 3_600_000

/// Midnight UTC of Tuesday 1 September 2026, the calendar's day 0.
let calendarDay0: Int64 = 1_788_220_800_000

/// Clinical time `days` after day 0, at `hour` (UTC; 10:00 unless told) plus `minutes`.
func day(_ days: Int, hour: Int = 10, minutes: Int = 0) -> Int64 {
    calendarDay0 + Int64(days) * dayMs + Int64(hour) * hourMs + Int64(minutes) * 60_000
}

/// One patient's history: every ``record(_:at:origin:recordedAt:)`` makes a real event (validated payload,
/// compressed body) with a readable id, its origin's next `originSeq`, and an HLC that follows the recording
/// order unless a test sets it. Hashes and signatures are placeholders: the fold does not read them.
struct History {
    let patient: PatientID
    private(set) var events: [Event] = []
    /// The latest `course.planned` event recorded.
    private(set) var course: EventID?
    private var originSeqs: [String: Int64] = [:]

    /// An empty history of `patient`.
    init(patient: PatientID = "p-0001") {
        self.patient = patient
    }

    /// HLC wall time of the n-th recorded event when a test does not set it: one second apart, in 2027, so the
    /// recording order is the canonical order.
    static func recordingTime(_ number: Int) -> Int64 { 1_800_000_000_000 + Int64(number) * 1_000 }

    /// The id of the n-th recorded event (1-based): `00000000-0000-7000-8000-00000000000n` in hex.
    static func eventID(_ number: Int) -> EventID {
        try! EventID(checked: String(format: "00000000-0000-7000-8000-%012x", number))
    }

    /// Records a payload that happened at `occurredAt` (ms since the epoch) on device `origin`.
    /// - Parameter recordedAt: the HLC wall time (ms); by default one second after the previous event's.
    /// - Returns: the new event's id.
    @discardableResult
    /// - Parameter schemaVersion: record the payload as this older schema version (it must be valid there).
    mutating func record<Payload: EventPayload>(
        _ payload: Payload, at occurredAt: Int64, origin: Identifier = "laptop-1", recordedAt: Int64? = nil,
        schemaVersion: Int? = nil
    ) throws -> EventID {
        let number = events.count + 1
        let draft =
            if let schemaVersion {
                try EventDraft(
                    type: Payload.eventType, json: try PayloadCodec.canonicalBytes(of: payload),
                    schemaVersion: schemaVersion, patient: patient,
                    occurredAt: Timestamp(millisecondsSinceEpoch: occurredAt), author: Fixtures.clinician)
            } else {
                try EventDraft(
                    payload, patient: patient, occurredAt: Timestamp(millisecondsSinceEpoch: occurredAt),
                    author: Fixtures.clinician)
            }
        let compressed = try draft.compressed()
        let seq = (originSeqs[origin.text] ?? 0) + 1
        originSeqs[origin.text] = seq
        let id = Self.eventID(number)
        if Payload.eventType == .coursePlanned { course = id }
        events.append(
            Event(
                id: id, origin: origin, originSeq: seq, prev: nil, patientPrev: nil,
                hlc: HLC(wallMilliseconds: recordedAt ?? Self.recordingTime(number), counter: 0),
                occurredAt: draft.occurredAt, patient: patient, type: draft.type, schemaVersion: draft.schemaVersion,
                author: draft.author, dictionary: compressed.dictionary, body: compressed.body,
                hash: try EventHash(bytes: [UInt8](repeating: 0, count: 32)), signature: []))
        return id
    }

    /// The treatment state of the history, through the fold's public entry point (bodies parsed and trimmed).
    func state(policy: TreatmentPolicy = .standard) throws -> TreatmentState {
        try TreatmentFold.state(of: patient, events: events, policy: policy)
    }

    /// A history that is ready for injections: consent given and an exam (NRS 7, ODI 42) on day −14, and a
    /// course planned on day −7 (6 sessions, 2–4 weeks apart unless told).
    static func readyForInjections(sessions: Int = 6, minWeeks: Int = 2, maxWeeks: Int = 4) throws -> History {
        var history = History()
        try history.record(Clinic.consent(), at: day(-14, hour: 9))
        try history.record(try Clinic.exam(), at: day(-14))
        try history.record(try Clinic.course(sessions: sessions, minWeeks: minWeeks, maxWeeks: maxWeeks), at: day(-7))
        return history
    }
}

/// Catalog payloads for tests, built from the catalog's own examples.
enum Clinic {
    static let clinician = CatalogExamples.clinician
    static let patientReporter = Reporter(role: .patient, id: "p-0001")

    static func consent(_ status: ConsentRecorded.Status = .given) -> ConsentRecorded {
        var consent = CatalogExamples.consentRecorded
        consent.status = status
        return consent
    }

    static func exam(nrs: Int = 7, odi: Int = 42, redFlags: ExamRecorded.RedFlagScreen = .init()) throws -> ExamRecorded {
        var exam = CatalogExamples.examRecorded
        exam.painNRS = try Score(checked: nrs)
        exam.odi = try Score(checked: odi)
        exam.redFlags = redFlags
        return exam
    }

    static func course(sessions: Int = 6, minWeeks: Int = 2, maxWeeks: Int = 4) throws -> CoursePlanned {
        var course = CatalogExamples.coursePlanned
        course.sessions = try Score(checked: sessions)
        course.interval = .init(minWeeks: try Score(checked: minWeeks), maxWeeks: try Score(checked: maxWeeks))
        return course
    }

    static var injection: InjectionAdministered { CatalogExamples.injectionAdministered }

    static func sideEffect(
        _ kinds: [SideEffectKind], grade: Int = 1, temperatureC: Double? = nil, onset: Int64,
        relatedInjection: EventID? = nil
    ) throws -> SideEffectReported {
        var temperature: Quantity<DegreesCelsius>?
        if let temperatureC { temperature = try Quantity(checked: temperatureC) }
        return SideEffectReported(
            reporter: patientReporter, onset: Timestamp(millisecondsSinceEpoch: onset), kinds: kinds,
            grade: try Score(checked: grade), temperatureC: temperature, relatedInjection: relatedInjection)
    }

    static func pain(nrs: Int) -> PainReported {
        PainReported(instrument: .nrs, score: nrs, reporter: patientReporter)
    }

    static func pain(odi: Int) -> PainReported {
        PainReported(instrument: .odi, score: odi, reporter: patientReporter)
    }

    static func cleared(_ kind: AlertKind, raisedBy: [EventID]) -> AlertCleared {
        AlertCleared(alertKind: kind, raisedBy: raisedBy, clinician: clinician, reason: "Reviewed in clinic.")
    }

    static func closed(_ course: EventID, reason: CourseClosed.Reason = .resolved) -> CourseClosed {
        CourseClosed(course: course, reason: reason, summary: "Course ends.", closedBy: clinician)
    }

    static func amended<Payload: EventPayload>(_ target: EventID, to corrected: Payload) throws -> EventAmended {
        try EventAmended(target: target, correctedPayload: corrected, reason: "Corrected.", amendedBy: clinician)
    }

    static func retracted(_ target: EventID) -> EventRetracted {
        EventRetracted(target: target, reason: .enteredInError, retractedBy: clinician)
    }
}

extension TreatmentState {
    /// The alerts of one kind.
    func alerts(_ kind: AlertKind) -> [Flag] { alerts.filter { $0.kind == kind.rawValue } }

    /// The review flags of one kind.
    func reviewFlags(_ kind: String) -> [Flag] { reviewFlags.filter { $0.kind == kind } }
}
