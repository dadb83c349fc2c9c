import Foundation
public import ProloDomain
public import ProloProjections

/// A clinician's decision to clear an alert, from the fields of the patient page's form, checked before anything
/// is recorded: the alert must be open, the clinician an identifier, the reason given. The result is the
/// `alert.cleared` draft that the caller records with `EventStore.record(_:signedBy:)`, as `prolo record
/// clear-alert` does.
public enum AlertClearance {
    /// Why a clearance was not recorded, in words for the person who filled in the form.
    public struct Refusal: Error, Sendable, Hashable {
        public let message: String
    }

    /// The `alert.cleared` draft for `patient`: `kind` raised by `raisedBy` (event ids separated by spaces),
    /// cleared by `clinician` because of `reason`, at `now`. `state` is the patient's state, in which the alert must
    /// be open.
    public static func draft(
        patient: PatientID, kind: String, raisedBy: String, clinician: String, reason: String,
        open state: TreatmentState?,
        now: Timestamp = .now()
    ) throws(Refusal) -> EventDraft {
        guard let alertKind = AlertKind(rawValue: kind) else {
            throw Refusal(message: "\"\(kind)\" is not a kind of alert that can be cleared.")
        }
        var events: [EventID] = []
        for text in raisedBy.split(separator: " ") {
            guard let id = try? EventID(checked: String(text)) else {
                throw Refusal(message: "The form names \"\(text)\" as a raising event, which is not an event id.")
            }
            events.append(id)
        }
        guard let first = events.first else { throw Refusal(message: "The form names no event that raised the alert.") }
        guard
            state?.openAlerts.contains(where: { $0.kind == kind && $0.raisedBy.first == first.text }) == true
        else {
            throw Refusal(
                message: "Patient \(patient) has no open \(PageLayout.words(kind).lowercased()) alert raised by event "
                    + "\(first); it may have been cleared already. Reload the page to see it as it stands.")
        }
        let who = clinician.trimmingCharacters(in: .whitespaces)
        guard let clinicianID = try? Identifier(checked: who) else {
            throw Refusal(
                message: who.isEmpty
                    ? "Say which clinician reviewed the alert (their id)."
                    : "The clinician id \"\(who)\" is not \(IdentifierRule.expectation).")
        }
        let why = reason.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let note = try? Note(checked: why) else {
            throw Refusal(message: "Say why it is safe to clear the alert (\(NoteRule.expectation)).")
        }
        do {
            let payload = AlertCleared(alertKind: alertKind, raisedBy: events, clinician: clinicianID, reason: note)
            try payload.validate()
            return try EventDraft(
                payload, patient: patient, occurredAt: now, author: Author(id: clinicianID, role: .clinician))
        } catch {
            throw Refusal(message: "The clearance is not valid: \(error)")
        }
    }
}
