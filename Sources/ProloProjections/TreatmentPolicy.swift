/// Every clinical threshold the treatment projection uses, in one documented value (DESIGN §5).
///
/// The defaults follow the clinic protocol: fever is 38.0 °C or more; a possible infection is looked for in the
/// 14 days after an injection; CTCAE grade 3 or more is a serious adverse event; three sessions without any
/// NRS or ODI improvement ask for re-evaluation; a course has at most 12 sessions; a responder's pain or
/// disability has dropped by at least 50 % (Cochrane review of prolotherapy for chronic low back pain).
public struct TreatmentPolicy: Sendable, Hashable {
    /// A temperature at or above this is a fever, in °C.
    public var feverThresholdC: Double
    /// How long after an injection fever with intense pain may be an infection, in days (inclusive).
    public var infectionWindowDays: Int
    /// A side effect of this CTCAE grade or more is serious.
    public var seriousGrade: Int
    /// After this many sessions without an NRS or ODI improvement, the course is flagged for re-evaluation.
    public var noImprovementSessions: Int
    /// More injections than this in one course raise `session-cap`.
    public var sessionCap: Int
    /// A drop of at least this many percent in NRS or ODI makes a responder.
    public var responderDropPercent: Double

    /// The clinic defaults listed above.
    public static let standard = TreatmentPolicy()

    /// A policy; every threshold defaults to the clinic protocol.
    public init(
        feverThresholdC: Double = 38.0, infectionWindowDays: Int = 14, seriousGrade: Int = 3,
        noImprovementSessions: Int = 3, sessionCap: Int = 12, responderDropPercent: Double = 50
    ) {
        self.feverThresholdC = feverThresholdC
        self.infectionWindowDays = infectionWindowDays
        self.seriousGrade = seriousGrade
        self.noImprovementSessions = noImprovementSessions
        self.sessionCap = sessionCap
        self.responderDropPercent = responderDropPercent
    }
}
