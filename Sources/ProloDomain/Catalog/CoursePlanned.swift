/// `course.planned`: a clinician plans a course of prolotherapy sessions for one region.
public struct CoursePlanned: EventPayload {
    /// This payload belongs to `course.planned` events.
    public static let eventType = EventType.coursePlanned

    /// The allowed gap between two sessions, in whole weeks; ``minWeeks`` is at most ``maxWeeks``.
    public struct Interval: Codable, Sendable, Hashable {
        /// The shortest gap the protocol allows.
        public var minWeeks: Score<IntervalWeeksScale>
        /// The longest gap before a session is overdue.
        public var maxWeeks: Score<IntervalWeeksScale>

        /// Makes an interval.
        public init(minWeeks: Score<IntervalWeeksScale>, maxWeeks: Score<IntervalWeeksScale>) {
            self.minWeeks = minWeeks
            self.maxWeeks = maxWeeks
        }
    }

    /// The clinician who made the plan.
    public var plannedBy: Identifier
    /// The region treated.
    public var region: BodyRegion
    /// The structures to be injected.
    public var targetSites: [TargetSite]
    /// Planned sessions, 1 to the cap of 12.
    public var sessions: Score<SessionCountScale>
    /// Weeks between sessions.
    public var interval: Interval
    /// The protocol followed (`Hackett-Hemwall dextrose prolotherapy`).
    public var `protocol`: Label
    /// The solution planned for the injections.
    public var plannedProliferant: Proliferant
    /// Therapies planned alongside the injections.
    public var adjunctTherapies: [AdjunctTherapy]

    /// Makes a course plan.
    public init(
        plannedBy: Identifier, region: BodyRegion, targetSites: [TargetSite], sessions: Score<SessionCountScale>,
        interval: Interval, protocol: Label, plannedProliferant: Proliferant, adjunctTherapies: [AdjunctTherapy]
    ) {
        self.plannedBy = plannedBy
        self.region = region
        self.targetSites = targetSites
        self.sessions = sessions
        self.interval = interval
        self.protocol = `protocol`
        self.plannedProliferant = plannedProliferant
        self.adjunctTherapies = adjunctTherapies
    }

    /// Refuses an interval whose minimum exceeds its maximum, and target sites with a wrong level.
    public func validate() throws(PayloadError) {
        if interval.minWeeks > interval.maxWeeks {
            throw PayloadError(
                path: "$.interval.maxWeeks",
                "maxWeeks (\(interval.maxWeeks.value)) must be at least minWeeks (\(interval.minWeeks.value))")
        }
        for (position, target) in targetSites.enumerated() {
            try target.site.checkLevel(target.level, at: "$.targetSites[\(position)]")
        }
    }
}
