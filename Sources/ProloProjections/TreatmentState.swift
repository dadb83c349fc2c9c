public import ProloDomain

/// One patient's current treatment state, derived from the log by ``TreatmentFold`` (DESIGN §5).
///
/// It does not depend on the time it is read: ``overdue(at:)`` takes today as an argument. Its JSON form
/// (``jsonValue(at:)``) is what `prolo patient show --json` prints.
public struct TreatmentState: Sendable, Hashable {
    /// Consent as it stands.
    public enum Consent: String, Sendable, Hashable {
        case given, withdrawn, none
    }

    /// Whether the patient has a course, and whether it is still running.
    public enum CourseStatus: String, Sendable, Hashable {
        case active, closed, none
    }

    /// The window in which the next session is due: last injection + minimum … + maximum interval.
    public struct Window: Sendable, Hashable {
        /// The earliest day the next session may be given, ms since the epoch.
        public let from: Int64
        /// The latest, ms since the epoch.
        public let to: Int64
    }

    /// NRS (0–10), ODI (0–100), VAS (0–100 mm) and Roland-Morris (0–24) readings; any may be missing.
    public struct Pain: Sendable, Hashable {
        public var nrs: Int?
        public var odi: Int?
        public var vas: Int?
        public var rolandMorris: Int?
    }

    /// A side effect that has not been resolved.
    public struct OpenSideEffect: Sendable, Hashable {
        /// The `side-effect.reported` event.
        public let event: String
        /// CTCAE grade.
        public let grade: Int
        /// What was reported.
        public let kinds: [String]
        /// Onset, ms since the epoch.
        public let onset: Int64
        /// Temperature in °C, when given.
        public let temperatureC: Double?
        /// The injection it follows (the related one, or the latest before onset), and whole days between them.
        public let injection: String?
        public let daysSinceInjection: Int?
    }

    /// An alert or review flag, with the events that raised it and whether a clinician cleared it.
    public struct Flag: Sendable, Hashable {
        /// `possible-infection`, `possible-duplicate`, …
        public let kind: String
        /// The events that raised it, the first being the one it is about.
        public let raisedBy: [String]
        /// When the raising fact happened (ms since the epoch).
        public let raisedAt: Int64
        /// The `alert.cleared` event that cleared it, if any.
        public var clearedBy: String?
        /// Whether it is cleared.
        public var cleared: Bool { clearedBy != nil }
    }

    /// The patient.
    public var patient: PatientID
    /// Consent as it stands now.
    public var consent: Consent = .none
    /// The latest course's status.
    public var courseStatus: CourseStatus = .none
    /// The latest course's `course.planned` event.
    public var course: String?
    /// Why the course was closed.
    public var closingReason: String?
    /// Sessions planned for the latest course.
    public var sessionsPlanned: Int?
    /// Injections given in the latest course (counted from `injection.administered`, never typed in).
    public var sessionsCompleted = 0
    /// Injections given in every course.
    public var injectionsTotal = 0
    /// First and last injection of the latest course (ms since the epoch).
    public var firstInjectionAt: Int64?
    public var lastInjectionAt: Int64?
    /// When the next session is due, while the course is active and sessions remain.
    public var nextDue: Window?
    /// Baseline pain (first exam) and latest pain (exams and `pain.reported`).
    public var baselinePain = Pain()
    public var latestPain = Pain()
    /// Improvement against baseline in percent (positive is better).
    public var improvementPercent = ImprovementPercent()
    /// NRS or ODI dropped by the policy's responder percentage.
    public var responder = false
    /// Unresolved side effects.
    public var openSideEffects: [OpenSideEffect] = []
    /// Adjunct therapies done, by therapy, with how many times.
    public var adjunctTherapies: [String: Int] = [:]
    /// Booked sessions that are not cancelled (appointment times, ms since the epoch).
    public var upcomingAppointments: [Int64] = []
    /// Safety alerts.
    public var alerts: [Flag] = []
    /// Review flags from merged facts that disagree.
    public var reviewFlags: [Flag] = []
    /// Events whose effect a retraction removed.
    public var retracted: [String] = []
    /// Events whose payload an amendment replaced.
    public var amended: [String] = []
    /// How many events of the patient the state was derived from.
    public var eventCount = 0

    /// Improvement percentages for NRS and ODI.
    public struct ImprovementPercent: Sendable, Hashable {
        public var nrs: Double?
        public var odi: Double?
    }

    /// An empty state.
    public init(patient: PatientID) {
        self.patient = patient
    }

    /// Alerts not cleared.
    public var openAlerts: [Flag] { alerts.filter { !$0.cleared } }

    /// Whether the next session's window has passed: the UTC day of `now` is after the window's last day.
    public func overdue(at now: Timestamp) -> Bool {
        guard let nextDue else { return false }
        return Self.day(of: now.millisecondsSinceEpoch) > Self.day(of: nextDue.to)
    }

    static func day(of milliseconds: Int64) -> Int64 {
        let perDay: Int64 = 86_400_000
        return milliseconds >= 0 ? milliseconds / perDay : (milliseconds - perDay + 1) / perDay
    }

    /// Severity rank of an alert kind, most severe first (lower is more severe).
    /// The severity every review flag sorts at: after every alert.
    public static let reviewFlagSeverity = 20

    public static func severity(of kind: String) -> Int {
        switch kind {
        case AlertKind.neurologicalRedFlag.rawValue: 1
        case AlertKind.possibleInfection.rawValue: 2
        case AlertKind.seriousAdverseEvent.rawValue: 3
        case AlertKind.injectionWhileRedFlag.rawValue: 4
        case AlertKind.injectionWithoutConsent.rawValue: 5
        case AlertKind.forkDetected.rawValue: 6
        case AlertKind.sessionCap.rawValue: 7
        case AlertKind.sessionTooSoon.rawValue: 8
        case AlertKind.breathlessnessOrChestPain.rawValue: 1
        case AlertKind.allergicReaction.rawValue: 2
        case AlertKind.examRedFlag.rawValue, AlertKind.notACandidate.rawValue: 3
        case AlertKind.lidocaineDose.rawValue: 4
        case AlertKind.immediateReaction.rawValue, AlertKind.postInjectionHeadache.rawValue: 5
        case AlertKind.sessionsBeyondPlan.rawValue: 7
        case AlertKind.noImprovement.rawValue: 9
        default: 10
        }
    }
}
