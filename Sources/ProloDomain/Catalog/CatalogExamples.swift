/// One realistic payload of every event type, telling one story of one patient (`p-0001`) in late 2026.
///
/// Maren Lindqvist, 55, has had sacroiliac-region low back pain for three years. She is registered,
/// consents, is examined (NRS 7, ODI 42, positive thigh thrust and Gaenslen, tender iliolumbar ligament),
/// and a course of six sessions 2–4 weeks apart is planned with exercise and spinal manipulation. After the
/// first injection (dextrose 150 mg/mL with lidocaine 2 mg/mL at 4 sites) she reports a fever of 38.6 °C with
/// intense pain (grade 3) from her home tablet; a clinician sees her, clears the possible-infection alert as a
/// post-injection flare, and the side effect resolves. Later events correct and retract entries, and the
/// course closes in December. These are the examples published in `Schemas/examples/`.
public enum CatalogExamples {
    /// The patient of the story.
    public static let patient: PatientID = "p-0001"
    /// The clinician who examines, plans and injects.
    public static let clinician: Identifier = "prac-0012"
    /// The `course.planned` event of the story's course.
    public static let courseEventID: EventID = "01a07b4f-7500-7a90-8043-ed469f361cd5"
    /// The `session.scheduled` event booking the first injection session.
    public static let firstSessionEventID: EventID = "01a07b58-9cc0-73e3-bf9a-a4fe679c1bf7"
    /// The `injection.administered` event of the first session.
    public static let injectionEventID: EventID = "01a09f5b-f900-7545-a700-19936cf88744"
    /// The `side-effect.reported` event of the fever.
    public static let sideEffectEventID: EventID = "01a0a6e3-2860-7412-ae8a-997b9cf7b33c"
    /// The `pain.reported` event later amended.
    public static let painReportEventID: EventID = "01a0c556-df80-75c7-8c8e-7160e76ba9b6"
    /// The `session.scheduled` event booking the second session, later cancelled.
    public static let secondSessionEventID: EventID = "01a0c560-0740-73f5-9120-74c1e1f9872d"
    /// A duplicate `session.scheduled` event for the second session, later retracted.
    public static let duplicateSessionEventID: EventID = "01a0c560-f1a0-79eb-a203-435cb3e0033f"
    /// The public key of the patient's home tablet.
    public static let homeTabletKey: PublicKeyBase64 = "sL8F/Rgk2ZMVnZqi+trsUTohDOSr2XhvE4KZ5BeM0Ug="

    private static let patientReporter = Reporter(role: .patient, id: patient)
    private static let clinicianReporter = Reporter(role: .clinician, id: clinician)

    /// The patient registers.
    public static let patientRegistered = PatientRegistered(
        mrn: "MRN-0042117",
        name: .init(given: "Maren", family: "Lindqvist"),
        birthDate: CalendarDay(year: 1971, month: 4, day: 12),
        sex: .female,
        contact: .init(phone: "+46 70 123 45 67", email: "maren.lindqvist@example.org")
    )

    /// She consents after the risks are discussed.
    public static let consentRecorded = ConsentRecorded(
        status: .given,
        risksDiscussed: ConsentRisk.allCases,
        investigationalAcknowledged: true,
        selfPayAcknowledged: true,
        formSha256: "5d4191f6299a4224eb537b7fa83cecc99391e6767ddce9ce4b9dd1120a8b36f2",
        recordedBy: clinician
    )

    /// The exam finds sacroiliac and iliolumbar ligament pain and makes her a candidate.
    public static let examRecorded = ExamRecorded(
        examiner: clinician,
        region: .lumbosacral,
        painNRS: 7,
        odi: 42,
        redFlags: .init(),
        provocationTests: [
            .init(test: .distraction, result: .negative),
            .init(test: .thighThrust, result: .positive, reproducesFamiliarPain: true),
            .init(test: .compression, result: .negative),
            .init(test: .sacralThrust, result: .negative),
            .init(test: .gaenslenLeft, result: .positive, reproducesFamiliarPain: true),
            .init(test: .gaenslenRight, result: .negative),
            .init(test: .faberLeft, result: .positive, reproducesFamiliarPain: false),
            .init(test: .faberRight, result: .notDone),
        ],
        palpation: [
            .init(ligament: .iliolumbar, side: .left, tenderness: 3, reproducesPain: true),
            .init(ligament: .iliolumbar, side: .right, tenderness: 1, reproducesPain: false),
            .init(ligament: .posteriorSacroiliacLong, side: .left, tenderness: 2, reproducesPain: true),
            .init(ligament: .posteriorSacroiliacShort, side: .left, tenderness: 2, reproducesPain: true),
            .init(ligament: .interspinous, side: .midline, level: .l5S1, tenderness: 1, reproducesPain: false),
        ],
        rangeOfMotion: [
            .init(movement: .flexion, degrees: 55, painAtEndRange: true),
            .init(movement: .extension, degrees: 20, painAtEndRange: true),
            .init(movement: .lateralFlexionLeft, degrees: 25, painAtEndRange: false),
            .init(movement: .lateralFlexionRight, degrees: 20, painAtEndRange: true),
        ],
        neuroScreen: .init(
            straightLegRaiseLeft: .negative, straightLegRaiseRight: .negative, motorNormal: true,
            sensationNormal: true, reflexesNormal: true),
        diagnoses: [
            .init(code: "M54.50", description: "Low back pain, unspecified"),
            .init(code: "M53.2X7", description: "Spinal instabilities, lumbosacral region"),
        ],
        assessment: .init(
            ligamentLaxityLikely: true,
            note:
                """
                Two of five Laslett tests positive with familiar pain; the left iliolumbar and posterior \
                sacroiliac ligaments reproduce her pain. No radicular signs.
                """
        ),
        decision: .init(
            candidate: true,
            reason: "Chronic ligamentous low back pain for three years despite 12 weeks of physiotherapy; no red flags."
        ),
        bodyWeightKg: 68,
        anticoagulantOrAntiplatelet: false,
        bleedingDisorder: false,
        allergies: .init(localAnaesthetic: false)
    )

    /// Six sessions, 2–4 weeks apart, with exercise and spinal manipulation.
    public static let coursePlanned = CoursePlanned(
        plannedBy: clinician,
        region: .lumbosacral,
        targetSites: [
            .init(site: .iliolumbar, side: .left),
            .init(site: .posteriorSacroiliacLong, side: .left),
            .init(site: .posteriorSacroiliacShort, side: .left),
            .init(site: .interspinous, side: .midline, level: .l5S1),
        ],
        sessions: 6,
        interval: .init(minWeeks: 2, maxWeeks: 4),
        protocol: "Hackett-Hemwall dextrose prolotherapy",
        plannedProliferant: .init(dextroseMgPerMl: 150, lidocaineMgPerMl: 2),
        adjunctTherapies: [.exercise, .spinalManipulation]
    )

    /// Her home tablet is enrolled so she can report between sessions.
    public static let deviceEnrolled = DeviceEnrolled(
        deviceName: "Maren's home tablet",
        publicKey: homeTabletKey,
        role: .home,
        patient: patient,
        enrolledBy: "admin-0001"
    )

    /// The first injection session is booked.
    public static let sessionScheduled = SessionScheduled(
        appointmentAt: instant("2026-09-14T10:00:00Z"),
        purpose: .injection,
        practitioner: clinician,
        reason: "Session 1 of 6"
    )

    /// The first injection: dextrose 150 mg/mL with lidocaine 2 mg/mL at 4 sites.
    public static let injectionAdministered = InjectionAdministered(
        practitioner: clinician,
        proliferant: .init(dextroseMgPerMl: 150, lidocaineMgPerMl: 2),
        lot: "DX15-2608-114",
        expiry: CalendarDay(year: 2027, month: 8, day: 31),
        sites: [
            .init(site: .iliolumbar, side: .left, volumeMl: 3, needlePasses: 4),
            .init(site: .posteriorSacroiliacLong, side: .left, volumeMl: 2.5, needlePasses: 3),
            .init(site: .posteriorSacroiliacShort, side: .left, volumeMl: 3, needlePasses: 5),
            .init(site: .interspinous, side: .midline, level: .l5S1, volumeMl: 1.5, needlePasses: 2),
        ],
        guidance: .palpation,
        needle: .init(gauge: 22, lengthMm: 89),
        immediateReaction: .noReaction,
        aftercareGiven: true
    )

    /// The next evening she reports a fever of 38.6 °C with intense pain, grade 3.
    public static let sideEffectReported = SideEffectReported(
        reporter: patientReporter,
        onset: instant("2026-09-15T20:30:00Z"),
        kinds: [.fever, .intensePain],
        grade: 3,
        temperatureC: 38.6,
        localSigns: [.redness, .warmth],
        relatedInjection: injectionEventID,
        note:
            "Hot and shivery since this evening, the left side of my lower back is much worse than after the injection."
    )

    /// A clinician sees her the next morning and clears the possible-infection alert.
    public static let alertCleared = AlertCleared(
        alertKind: .possibleInfection,
        raisedBy: [sideEffectEventID],
        clinician: clinician,
        reason:
            """
            Seen 2026-09-16: 37.4 °C, injection sites clean with no swelling or redness, CRP 6 mg/L. \
            Post-injection flare, not infection; paracetamol and ice, review in 48 h.
            """
    )

    /// The fever and flare are over two days after they began.
    public static let sideEffectResolved = SideEffectResolved(
        report: sideEffectEventID,
        resolvedAt: instant("2026-09-17T18:00:00Z"),
        outcome: .recovered,
        recordedBy: clinicianReporter,
        note: "Afebrile since the morning of 2026-09-17; pain back to baseline."
    )

    /// A week after the injection she reports her pain from home.
    public static let painReported = PainReported(
        instrument: .nrs,
        score: 5,
        reporter: patientReporter,
        note: "Better than before the first session."
    )

    /// Spinal manipulation between sessions, as planned.
    public static let adjunctTherapyRecorded = AdjunctTherapyRecorded(
        therapy: .spinalManipulation,
        provider: "prac-0031",
        note: "Sacroiliac high-velocity low-amplitude manipulation, left; home exercise programme reviewed."
    )

    /// The second session is cancelled because she has a cold; it is rebooked.
    public static let sessionCancelled = SessionCancelled(
        session: secondSessionEventID,
        appointmentAt: instant("2026-09-28T10:00:00Z"),
        reason: .patientIll,
        cancelledBy: patientReporter,
        note: "Rebooked for 2026-10-05."
    )

    /// The pain score of 5 was mistyped; she meant 4.
    public static let eventAmended = EventAmended(
        target: painReportEventID,
        targetType: .painReported,
        payload: jsonValue(
            of: PainReported(
                instrument: .nrs, score: 4, reporter: patientReporter, note: "Better than before the first session.")),
        reason: "The patient tapped 5 but meant 4; corrected at her request.",
        amendedBy: clinician
    )

    /// The second session was booked twice, from two laptops; the duplicate is retracted.
    public static let eventRetracted = EventRetracted(
        target: duplicateSessionEventID,
        reason: .duplicate,
        note: "Same booking as 01a0c560-0740-73f5-9120-74c1e1f9872d, made on the front-desk laptop while offline.",
        retractedBy: clinician
    )

    /// After six sessions the course closes as resolved.
    public static let courseClosed = CourseClosed(
        course: courseEventID,
        reason: .resolved,
        summary:
            """
            Six sessions completed. NRS 7 to 2 and ODI 42 to 14 at the last visit: a responder. Continue the home \
            exercise programme; review in 3 months.
            """,
        closedBy: clinician
    )

    /// Home use ends with the course, so the tablet's key is revoked.
    public static let deviceRevoked = DeviceRevoked(
        deviceName: "Maren's home tablet",
        publicKey: homeTabletKey,
        reason: .homeUseEnded,
        revokedBy: "admin-0001"
    )

    /// One example of every event type, in the order the story happens.
    public static var all: [any EventPayload] {
        [
            patientRegistered, consentRecorded, examRecorded, coursePlanned, deviceEnrolled, sessionScheduled,
            injectionAdministered, sideEffectReported, alertCleared, sideEffectResolved, painReported,
            adjunctTherapyRecorded, sessionCancelled, eventAmended, eventRetracted, courseClosed, deviceRevoked,
        ]
    }

    /// The example of one event type.
    public static func example(of type: EventType) -> any EventPayload {
        switch type {
        case .patientRegistered: patientRegistered
        case .consentRecorded: consentRecorded
        case .examRecorded: examRecorded
        case .coursePlanned: coursePlanned
        case .injectionAdministered: injectionAdministered
        case .sideEffectReported: sideEffectReported
        case .sideEffectResolved: sideEffectResolved
        case .painReported: painReported
        case .adjunctTherapyRecorded: adjunctTherapyRecorded
        case .sessionScheduled: sessionScheduled
        case .sessionCancelled: sessionCancelled
        case .alertCleared: alertCleared
        case .courseClosed: courseClosed
        case .eventAmended: eventAmended
        case .eventRetracted: eventRetracted
        case .deviceEnrolled: deviceEnrolled
        case .deviceRevoked: deviceRevoked
        }
    }

    /// An instant written in code; text that is not RFC 3339 UTC is a programming error, as for literals.
    private static func instant(_ text: String) -> Timestamp {
        do {
            return try Timestamp(checked: text)
        } catch {
            preconditionFailure("example time \(error)")
        }
    }

    /// A payload as a JSON value; the examples always encode.
    private static func jsonValue(of payload: some EventPayload) -> JSONValue {
        do {
            return try PayloadCodec.encodeValue(payload)
        } catch {
            preconditionFailure("example payload does not encode: \(error)")
        }
    }
}
