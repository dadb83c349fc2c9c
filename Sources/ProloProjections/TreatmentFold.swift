public import ProloDomain

/// The pure fold of the treatment projection: a patient's facts in, that patient's treatment state out.
///
/// No SQLite and no clock inside. Rules, all on the value of ``TreatmentPolicy``:
/// - **Corrections by recording order.** `event.retracted` removes its target's effect (alerts it raised
///   disappear; a retraction of a retraction restores the first target). `event.amended` replaces its target's
///   payload; with several amendments the last in canonical order wins, and amendments of one event from
///   different devices (which cannot have followed each other) raise `conflicting-amendments`.
/// - **Clinical facts on the clinical time axis.** Consent, exams, pain, injections and side effects are read in
///   `occurredAt` order (ties in canonical order), so a back-entered exam does not become the latest one.
/// - Each injection belongs to the latest course planned before it; a session is counted only from
///   `injection.administered`. Facts are never dropped: disagreeing facts stay in the state and raise a
///   review flag (`possible-duplicate`, `conflicting-amendments`, `after-close`).
/// - **Safety rules** (thresholds on ``TreatmentPolicy``; each rule, threshold and source is listed in
///   `Schemas/clinical-rules.md`): possible infection, neurological red flag (numbness in the first hours after an
///   injection is the lidocaine), serious adverse event, breathlessness or chest pain, allergic reaction,
///   post-injection headache, the injection's immediate reaction, the lidocaine given in one session, exam red
///   flags and "not a candidate", no improvement measured against minimal important change, sessions too soon
///   (calendar days, across courses), beyond the plan or over the cap. Intense pain without fever is a review flag.
///   Alerts whose ``AlertKind/blocksNextInjection`` is true raise `injection-while-red-flag` at the next injection
///   until cleared.
/// - `alert.cleared` clears the one alert of its kind it names: the alert's raising event (the first of its
///   `raisedBy`) is the first of the clearance's `raisedBy`, and the clearance happened at or after the alert was
///   raised; a clearance never reaches a later alert that merely shares an injection. `merge-review` clears review
///   flags the same way. An injection checks red flags cleared *before* it was given.
public enum TreatmentFold {
    /// Folds events (any order) into a state. Events whose payload this build cannot read
    /// (`Event.unreadablePayload`) are left out, as the read models leave them out.
    public static func state(
        of patient: PatientID, events: [Event], policy: TreatmentPolicy = .standard
    ) throws(ProjectionError) -> TreatmentState {
        var facts = PatientFacts(patient: patient)
        // An event this build cannot read is held out of the fold, as the read models hold it out (DESIGN §6).
        for event in events where event.patient == patient && event.unreadablePayload == nil {
            facts.insert(try ClinicalFact(event: event))
        }
        return state(of: facts, policy: policy)
    }

    /// Derives the state from a patient's facts.
    public static func state(of patientFacts: PatientFacts, policy: TreatmentPolicy = .standard) -> TreatmentState {
        checkpoint(of: patientFacts, policy: policy).finished()
    }

    /// Where the fold stands after a patient's facts (what the read model stores and continues from).
    static func checkpoint(of patientFacts: PatientFacts, policy: TreatmentPolicy) -> FoldCheckpoint {
        var checkpoint = FoldCheckpoint(patient: patientFacts.patient, policy: policy)
        checkpoint.run(patientFacts.canonicalFacts)
        return checkpoint
    }
}

extension JSONValue {
    var intValue: Int? {
        if case .int(let value) = self { return Int(value) }
        return nil
    }

    var doubleValue: Double? {
        switch self {
        case .int(let value): Double(value)
        case .double(let value): value
        default: nil
        }
    }

    var arrayValue: [JSONValue]? {
        if case .array(let elements) = self { return elements }
        return nil
    }
}
