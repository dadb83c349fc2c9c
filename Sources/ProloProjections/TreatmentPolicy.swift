/// Every clinical threshold the treatment projection uses, in one documented value (DESIGN §5).
///
/// The defaults and the source of each are listed in `Schemas/clinical-rules.md`: fever is 38.0 °C or more; a
/// possible infection is looked for in the 14 days after an injection; CTCAE grade 3 or more is a serious adverse
/// event; numbness in the first 4 hours after an injection is the lidocaine; no improvement is judged after 3
/// sessions against the minimal important change of each instrument; a course has at most 12 sessions; a
/// responder's pain or disability has dropped by at least 50 % (Cochrane review of prolotherapy for chronic low back
/// pain); lidocaine is capped at 4.5 mg/kg and 300 mg per session.
public struct TreatmentPolicy: Sendable, Hashable {
    /// The smallest change in a pain or disability score a patient notices as better (improvement is a drop).
    public struct MinimalImportantChange: Sendable, Hashable {
        /// NRS 0–10: a drop of this many points …
        public var nrsPoints: Int
        /// … or of this many percent of the baseline.
        public var nrsPercent: Double
        /// ODI 0–100, in points.
        public var odiPoints: Int
        /// Roland-Morris 0–24, in points.
        public var rolandMorrisPoints: Int
        /// VAS 0–100 mm, in millimetres.
        public var vasMm: Int

        /// The thresholds; the defaults are the published minimal important changes (Ostelo et al. 2008,
        /// Farrar et al. 2001).
        public init(
            nrsPoints: Int = 2, nrsPercent: Double = 30, odiPoints: Int = 10, rolandMorrisPoints: Int = 5,
            vasMm: Int = 15
        ) {
            self.nrsPoints = nrsPoints
            self.nrsPercent = nrsPercent
            self.odiPoints = odiPoints
            self.rolandMorrisPoints = rolandMorrisPoints
            self.vasMm = vasMm
        }

        /// Whether the drop from `baseline` to `latest` on `instrument` (`nrs`, `odi`, `vas`, `roland-morris`)
        /// reaches the minimal important change.
        public func isImportant(instrument: String, baseline: Int, latest: Int) -> Bool {
            let drop = baseline - latest
            switch instrument {
            case "nrs":
                return drop >= nrsPoints || (baseline > 0 && Double(drop) / Double(baseline) * 100 >= nrsPercent)
            case "odi": return drop >= odiPoints
            case "vas": return drop >= vasMm
            case "roland-morris": return drop >= rolandMorrisPoints
            default: return false
            }
        }
    }

    /// A temperature at or above this is a fever, in °C.
    public var feverThresholdC: Double
    /// How long after an injection fever with intense pain may be an infection, in days (inclusive); also how long a
    /// headache counts as post-injection.
    public var infectionWindowDays: Int
    /// A side effect of this CTCAE grade or more is serious, and blocks the next injection until cleared.
    public var seriousGrade: Int
    /// After this many sessions, outcome scores recorded after them are compared with the baseline.
    public var noImprovementSessions: Int
    /// More injections than this in one course raise `session-cap`.
    public var sessionCap: Int
    /// A drop of at least this many percent in NRS or ODI makes a responder.
    public var responderDropPercent: Double
    /// Numbness beginning within this many hours after an injection is the lidocaine, unless it is still there after.
    public var lidocaineNumbnessHours: Int
    /// What counts as an improvement on each instrument.
    public var minimalImportantChange: MinimalImportantChange
    /// The most lidocaine one session may give per kg of body weight, in mg/kg (plain lidocaine, no adrenaline).
    public var lidocaineMaxMgPerKg: Double
    /// The most lidocaine one session may give whatever the weight, in mg.
    public var lidocaineMaxMg: Double

    /// The clinic defaults listed above.
    public static let standard = TreatmentPolicy()

    /// A policy; every threshold defaults to the clinic protocol.
    public init(
        feverThresholdC: Double = 38.0, infectionWindowDays: Int = 14, seriousGrade: Int = 3,
        noImprovementSessions: Int = 3, sessionCap: Int = 12, responderDropPercent: Double = 50,
        lidocaineNumbnessHours: Int = 4, minimalImportantChange: MinimalImportantChange = .init(),
        lidocaineMaxMgPerKg: Double = 4.5, lidocaineMaxMg: Double = 300
    ) {
        self.feverThresholdC = feverThresholdC
        self.infectionWindowDays = infectionWindowDays
        self.seriousGrade = seriousGrade
        self.noImprovementSessions = noImprovementSessions
        self.sessionCap = sessionCap
        self.responderDropPercent = responderDropPercent
        self.lidocaineNumbnessHours = lidocaineNumbnessHours
        self.minimalImportantChange = minimalImportantChange
        self.lidocaineMaxMgPerKg = lidocaineMaxMgPerKg
        self.lidocaineMaxMg = lidocaineMaxMg
    }

    /// The lidocaine one session may give a patient of `bodyWeightKg` (the absolute cap when the weight is unknown).
    public func lidocaineLimitMg(bodyWeightKg: Double?) -> Double {
        guard let bodyWeightKg, bodyWeightKg > 0 else { return lidocaineMaxMg }
        return min(lidocaineMaxMg, lidocaineMaxMgPerKg * bodyWeightKg)
    }
}
