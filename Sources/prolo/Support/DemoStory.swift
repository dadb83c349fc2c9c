import Foundation
import ProloDomain

/// The story of ``CatalogExamples`` as the events a clinic records, in story order, for `prolo demo`.
///
/// Maren Lindqvist (`p-0001`) is registered, consents and is examined on 2026-09-07; a six-session course is
/// planned; after the first injection on 2026-09-14 she reports a fever, the alert is cleared as a flare and the
/// side effect resolves; a pain score is corrected, a duplicate booking retracted, a session cancelled, and the
/// course closes on 2026-12-14. Her home tablet's enrollment and revocation are recorded too, as administrative
/// events without a patient, so the demo shows all 17 event types.
///
/// Event ids are made when an event is recorded, so the catalog's references to other events cannot be written
/// in advance. ``play(_:)`` hands each draft to its caller and rewrites every reference (a side effect's
/// injection, a cleared alert's report, a resolution's report, a cancelled session, an amended or retracted
/// event, a closed course) to the id the caller returned for the event it means. It adds no clinical rule:
/// the payloads are the catalog's examples, validated by ``EventDraft`` like any other input.
enum DemoStory {
    /// The patient of the story.
    static let patient = CatalogExamples.patient

    /// The number of events ``play(_:)`` records.
    static let eventCount = 19

    /// The ids of the events that others refer to, as recorded.
    struct Landmarks: Sendable {
        /// `course.planned`, closed by `course.closed`.
        var course: EventID
        /// `injection.administered`, the side effect's related injection.
        var injection: EventID
        /// `side-effect.reported`, cleared by `alert.cleared` and resolved by `side-effect.resolved`.
        var sideEffect: EventID
        /// `pain.reported`, corrected by `event.amended`.
        var painReport: EventID
        /// The second `session.scheduled`, cancelled by `session.cancelled`.
        var secondSession: EventID
        /// The duplicate of the second booking, retracted by `event.retracted`.
        var duplicateSession: EventID
    }

    private static let clinician = Author(id: CatalogExamples.clinician, role: .clinician)
    private static let physiotherapist = Author(id: CatalogExamples.adjunctTherapyRecorded.provider, role: .clinician)
    private static let patientAuthor = Author(id: patient, role: .patient)
    private static let admin = Author(id: CatalogExamples.deviceEnrolled.enrolledBy, role: .admin)

    /// Plays the story: builds each draft in order, passes it to `record`, and points later drafts at the ids
    /// `record` returned.
    /// - Returns: the recorded ids of the events others refer to.
    @discardableResult
    static func play(_ recordDraft: (EventDraft) throws -> EventID) throws -> Landmarks {
        typealias Examples = CatalogExamples
        @discardableResult
        func record<Payload: EventPayload>(_ payload: Payload, at time: String, by author: Author) throws -> EventID {
            try recordDraft(draft(payload, at: time, by: author))
        }

        try record(Examples.patientRegistered, at: "2026-09-07T08:30:00Z", by: clinician)
        try record(Examples.consentRecorded, at: "2026-09-07T09:00:00Z", by: clinician)
        try record(Examples.examRecorded, at: "2026-09-07T09:20:00Z", by: clinician)
        let course = try record(Examples.coursePlanned, at: "2026-09-07T10:00:00Z", by: clinician)
        try record(Examples.deviceEnrolled, at: "2026-09-07T10:05:00Z", by: admin)
        try record(Examples.sessionScheduled, at: "2026-09-07T10:10:00Z", by: clinician)
        let injection = try record(Examples.injectionAdministered, at: "2026-09-14T10:00:00Z", by: clinician)

        var report = Examples.sideEffectReported
        report.relatedInjection = injection
        let sideEffect = try record(report, at: report.onset.text, by: patientAuthor)

        var clearance = Examples.alertCleared
        clearance.raisedBy = [sideEffect]
        try record(clearance, at: "2026-09-16T09:30:00Z", by: clinician)

        var resolution = Examples.sideEffectResolved
        resolution.report = sideEffect
        try record(resolution, at: resolution.resolvedAt.text, by: clinician)

        let painReport = try record(Examples.painReported, at: "2026-09-21T19:00:00Z", by: patientAuthor)

        // The second session, booked twice from two laptops; the cancellation and the retraction refer to them.
        var booking = Examples.sessionScheduled
        booking.appointmentAt = Examples.sessionCancelled.appointmentAt
        booking.reason = "Session 2 of 6"
        let secondSession = try record(booking, at: "2026-09-21T19:10:00Z", by: clinician)
        let duplicateSession = try record(booking, at: "2026-09-21T19:11:00Z", by: clinician)

        try record(Examples.adjunctTherapyRecorded, at: "2026-09-23T16:00:00Z", by: physiotherapist)

        var cancellation = Examples.sessionCancelled
        cancellation.session = secondSession
        try record(cancellation, at: "2026-09-27T07:45:00Z", by: patientAuthor)

        var amendment = Examples.eventAmended
        amendment.target = painReport
        try record(amendment, at: "2026-09-27T08:00:00Z", by: clinician)

        var retraction = Examples.eventRetracted
        retraction.target = duplicateSession
        if let note = retraction.note {
            retraction.note = try Note(
                checked: note.text.replacingOccurrences(
                    of: Examples.secondSessionEventID.text, with: secondSession.text))
        }
        try record(retraction, at: "2026-09-27T08:05:00Z", by: clinician)

        var closure = Examples.courseClosed
        closure.course = course
        try record(closure, at: "2026-12-14T11:00:00Z", by: clinician)
        try record(Examples.deviceRevoked, at: "2026-12-14T11:15:00Z", by: admin)

        return Landmarks(
            course: course, injection: injection, sideEffect: sideEffect, painReport: painReport,
            secondSession: secondSession, duplicateSession: duplicateSession)
    }

    /// A draft of one example at a clinical time; administrative events get no patient.
    private static func draft<Payload: EventPayload>(_ payload: Payload, at time: String, by author: Author) throws
        -> EventDraft
    {
        try EventDraft(
            payload, patient: Payload.eventType.isAdministrative ? nil : patient,
            occurredAt: try Timestamp(checked: time), author: author)
    }
}
