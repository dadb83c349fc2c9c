import Foundation
import ProloDomain
import ProloProjections
import ProloStore
import ProloTestSupport

/// Random clinical histories recorded on several devices: every event type the projection reads, with
/// references (related injections, clearances, amendments, retractions) to earlier events of the patient.
struct RandomHistory {
    /// One recording device: its store and key.
    struct Device {
        let store: EventStore
        let key: DeviceKey
    }

    let devices: [Device]
    /// Every event recorded, per device, in chain order.
    var events: [[Event]]

    /// When the recorded events happened.
    enum ClinicalTime {
        /// Anywhere in 120 days, whatever the order of recording.
        case random
        /// An hour after the previous event as a rule, as a clinic records; a share of them back-entered (a random
        /// earlier time).
        case followsRecording(backEntered: Double)
    }

    /// Records `count` random events for `patients` patients on `deviceCount` devices.
    static func make(
        in directory: TemporaryDirectory, seed: UInt64, deviceCount: Int = 3, patients: Int = 3, count: Int = 40,
        clinicalTime: ClinicalTime = .random
    ) throws -> RandomHistory {
        var random = SeededGenerator(seed: seed)
        let devices = try (0..<deviceCount).map { index in
            let (store, key) = try Fixtures.makeStore(in: directory, name: "device-\(index)", deviceName: "device-\(index)")
            return Device(store: store, key: key)
        }
        let patientIDs = try (0..<patients).map { try PatientID(checked: "p-\($0)") }
        var recorded: [PatientID: [(id: EventID, type: EventType)]] = [:]
        var events = Array(repeating: [Event](), count: deviceCount)
        let base: Int64 = 1_790_000_000_000
        for index in 0..<count {
            let device = Int.random(in: 0..<deviceCount, using: &random)
            let patient = patientIDs.randomElement(using: &random)!
            let at: Int64
            switch clinicalTime {
            case .random:
                at = base + Int64.random(in: 0..<(120 * 86_400_000), using: &random)
            case .followsRecording(let backEntered):
                let now = base + Int64(index) * 3_600_000
                at = Double.random(in: 0..<1, using: &random) < backEntered ? Int64.random(in: base...now, using: &random) : now
            }
            let history = recorded[patient] ?? []
            let draft = try randomDraft(patient: patient, at: at, history: history, random: &random)
            let stored = try devices[device].store.record([draft], signedBy: devices[device].key)[0]
            events[device].append(stored.event)
            recorded[patient, default: []].append((stored.event.id, stored.event.type))
        }
        return RandomHistory(devices: devices, events: events)
    }

    private static func randomDraft(
        patient: PatientID, at milliseconds: Int64, history: [(id: EventID, type: EventType)],
        random: inout SeededGenerator
    ) throws -> EventDraft {
        let time = Timestamp(millisecondsSinceEpoch: milliseconds)
        let author = Fixtures.clinician
        func of(_ type: EventType) -> [EventID] { history.filter { $0.type == type }.map(\.id) }
        switch Int.random(in: 0..<17, using: &random) {
        case 0:
            var consent = CatalogExamples.consentRecorded
            consent.status = Bool.random(using: &random) ? .given : .withdrawn
            return try EventDraft(consent, patient: patient, occurredAt: time, author: author)
        case 1:
            var exam = CatalogExamples.examRecorded
            exam.painNRS = try Score(checked: Int.random(in: 0...10, using: &random))
            exam.odi = try Score(checked: Int.random(in: 0...100, using: &random))
            exam.redFlags.saddleAnaesthesia = Int.random(in: 0..<8, using: &random) == 0
            return try EventDraft(exam, patient: patient, occurredAt: time, author: author)
        case 2:
            return try EventDraft(CatalogExamples.coursePlanned, patient: patient, occurredAt: time, author: author)
        case 3, 4, 5:
            return try EventDraft(CatalogExamples.injectionAdministered, patient: patient, occurredAt: time, author: author)
        case 6, 7:
            var effect = CatalogExamples.sideEffectReported
            effect.grade = try Score(checked: Int.random(in: 1...4, using: &random))
            effect.temperatureC = try Quantity(checked: 36.5 + Double(Int.random(in: 0...30, using: &random)) / 10)
            effect.kinds = [[.fever, .intensePain], [.intensePain], [.numbness], [.bruising], [.fever]]
                .randomElement(using: &random)!
            effect.onset = time
            effect.relatedInjection = of(.injectionAdministered).randomElement(using: &random)
            return try EventDraft(effect, patient: patient, occurredAt: time, author: author)
        case 8:
            let reporter = Reporter(role: .patient, id: Identifier(stringLiteral: patient.text))
            let pain = PainReported(
                instrument: Bool.random(using: &random) ? .nrs : .odi, score: Int.random(in: 0...10, using: &random),
                reporter: reporter)
            return try EventDraft(pain, patient: patient, occurredAt: time, author: author)
        case 9:
            guard let target = of(.sideEffectReported).randomElement(using: &random) else { fallthrough }
            let kind: AlertKind = [.possibleInfection, .seriousAdverseEvent, .neurologicalRedFlag].randomElement(using: &random)!
            let clear = AlertCleared(alertKind: kind, raisedBy: [target], clinician: "prac-0012", reason: "Reviewed in clinic.")
            return try EventDraft(clear, patient: patient, occurredAt: time, author: author)
        case 10:
            guard let target = of(.painReported).randomElement(using: &random) else { fallthrough }
            let corrected = PainReported(
                instrument: .nrs, score: Int.random(in: 0...10, using: &random),
                reporter: Reporter(role: .patient, id: Identifier(stringLiteral: patient.text)))
            let amendment = try EventAmended(
                target: target, correctedPayload: corrected, reason: "Mistyped score.", amendedBy: "prac-0012")
            return try EventDraft(amendment, patient: patient, occurredAt: time, author: author)
        case 11:
            guard let target = history.randomElement(using: &random)?.id else { fallthrough }
            let retraction = EventRetracted(target: target, reason: .enteredInError, retractedBy: "prac-0012")
            return try EventDraft(retraction, patient: patient, occurredAt: time, author: author)
        case 12:
            guard let course = of(.coursePlanned).randomElement(using: &random) else { fallthrough }
            var close = CatalogExamples.courseClosed
            close.course = course
            return try EventDraft(close, patient: patient, occurredAt: time, author: author)
        case 13:
            var resolved = CatalogExamples.sideEffectResolved
            guard let report = of(.sideEffectReported).randomElement(using: &random) else { fallthrough }
            resolved.report = report
            return try EventDraft(resolved, patient: patient, occurredAt: time, author: author)
        case 14:
            var booking = CatalogExamples.sessionScheduled
            // Two bookings may share a time: a cancellation takes back one of them.
            booking.appointmentAt = Timestamp(millisecondsSinceEpoch: milliseconds / 86_400_000 * 86_400_000 + 7 * 86_400_000)
            return try EventDraft(booking, patient: patient, occurredAt: time, author: author)
        case 15:
            guard let session = of(.sessionScheduled).randomElement(using: &random) else { fallthrough }
            var cancellation = CatalogExamples.sessionCancelled
            cancellation.session = session
            return try EventDraft(cancellation, patient: patient, occurredAt: time, author: author)
        default:
            return try EventDraft(CatalogExamples.adjunctTherapyRecorded, patient: patient, occurredAt: time, author: author)
        }
    }

    /// Every origin's chain interleaved in a random order, keeping each chain's own order (as sync delivers).
    func randomArrival(using random: inout SeededGenerator) -> [[Event]] {
        var cursors = Array(repeating: 0, count: events.count)
        var batches: [[Event]] = []
        while let device = (0..<events.count).filter({ cursors[$0] < events[$0].count }).randomElement(using: &random) {
            let take = Int.random(in: 1...5, using: &random)
            let end = min(events[device].count, cursors[device] + take)
            batches.append(Array(events[device][cursors[device]..<end]))
            cursors[device] = end
        }
        return batches
    }
}

/// The read-model tables of a store, row by row, as text: two stores with equal dumps answer every query alike.
func readModelDump(_ store: ProjectedStore) throws -> [String] {
    try store.store.read { connection throws(StoreError) -> [String] in
        var rows: [String] = []
        for (table, order) in [
            ("patient_fold", "patient"), ("patient_summary", "patient"), ("patient_alerts", "patient, kind, raised_by"),
        ] {
            let statement = try connection.statement("SELECT * FROM \(table) ORDER BY \(order)")
            while try statement.step() {
                var row = table
                var column: Int32 = 0
                while column < statement.columnCount {
                    let bytes = statement.blob(column)
                    // The checkpoint is binary: compare it byte for byte.
                    let text = table == "patient_fold" ? bytes.map { String($0, radix: 16) }.joined(separator: " ")
                        : String(decoding: bytes, as: UTF8.self)
                    row += "|" + (statement.isNull(column) ? "NULL" : text)
                    column += 1
                }
                rows.append(row)
            }
            statement.reset()
        }
        return rows
    }
}
