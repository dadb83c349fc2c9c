import ProloDomain
import ProloStore

/// Random clinical events for property and integration tests, from the catalog's examples.
public enum ClinicalDrafts {
    /// A random clinical event about `patient`: what a patient reports from home (pain, side effects) or, for a
    /// clinician, also injections, course plans and consent.
    public static func random(for patient: PatientID, byPatient: Bool, using random: inout SeededGenerator) throws
        -> EventDraft
    {
        let time = Timestamp(
            millisecondsSinceEpoch: 1_790_000_000_000 + Int64.random(in: 0..<(90 * 86_400_000), using: &random))
        let reporter = Reporter(
            role: byPatient ? .patient : .clinician, id: byPatient ? Identifier(stringLiteral: patient.text) : "prac-1")
        let author =
            byPatient ? Author(id: Identifier(stringLiteral: patient.text), role: .patient) : Fixtures.clinician
        switch Int.random(in: 0..<(byPatient ? 2 : 5), using: &random) {
        case 0:
            let pain = PainReported(instrument: .nrs, score: Int.random(in: 0...10, using: &random), reporter: reporter)
            return try EventDraft(pain, patient: patient, occurredAt: time, author: author)
        case 1:
            var effect = CatalogExamples.sideEffectReported
            effect.reporter = reporter
            effect.relatedInjection = nil
            effect.onset = time
            effect.grade = try Score(checked: Int.random(in: 1...3, using: &random))
            return try EventDraft(effect, patient: patient, occurredAt: time, author: author)
        case 2:
            return try EventDraft(
                CatalogExamples.injectionAdministered, patient: patient, occurredAt: time, author: author)
        case 3:
            return try EventDraft(CatalogExamples.coursePlanned, patient: patient, occurredAt: time, author: author)
        default:
            return try EventDraft(CatalogExamples.consentRecorded, patient: patient, occurredAt: time, author: author)
        }
    }

    /// `count` random events recorded on `device` (a home device only about its own patient).
    @discardableResult
    public static func record(
        _ count: Int, on device: ClinicFixture.Device, patients: [PatientID], using random: inout SeededGenerator
    ) throws -> [StoredEvent] {
        let drafts = try (0..<count).map { _ in
            let patient = device.homePatient ?? patients.randomElement(using: &random)!
            return try Self.random(for: patient, byPatient: device.homePatient != nil, using: &random)
        }
        return try device.store.record(drafts, signedBy: device.key)
    }
}

/// The ids of every event a store holds.
public func eventIDs(_ store: EventStore) throws -> Set<EventID> {
    Set(try store.events().map(\.event.id))
}
