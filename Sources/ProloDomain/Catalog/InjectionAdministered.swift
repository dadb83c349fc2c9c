/// `injection.administered`: one prolotherapy session, with what was injected where.
public struct InjectionAdministered: EventPayload {
    /// This payload belongs to `injection.administered` events.
    public static let eventType = EventType.injectionAdministered

    /// One injected site.
    public struct Site: Codable, Sendable, Hashable {
        /// The structure injected.
        public var site: InjectionSite
        /// The side.
        public var side: Side
        /// The motion segment; present exactly when ``InjectionSite/isSegmental`` is true.
        public var level: SpinalLevel?
        /// Volume injected at this site, in mL (above 0, at most 50).
        public var volumeMl: Quantity<Millilitres>
        /// Needle passes (peppering) at this site.
        public var needlePasses: Score<NeedlePassesScale>

        /// Makes a site record.
        public init(
            site: InjectionSite, side: Side, level: SpinalLevel? = nil, volumeMl: Quantity<Millilitres>,
            needlePasses: Score<NeedlePassesScale>
        ) {
            self.site = site
            self.side = side
            self.level = level
            self.volumeMl = volumeMl
            self.needlePasses = needlePasses
        }
    }

    /// The needle used.
    public struct Needle: Codable, Sendable, Hashable {
        /// Gauge, 18–33 G.
        public var gauge: Score<NeedleGaugeScale>
        /// Length in millimetres.
        public var lengthMm: Quantity<Millimetres>

        /// Makes a needle description.
        public init(gauge: Score<NeedleGaugeScale>, lengthMm: Quantity<Millimetres>) {
            self.gauge = gauge
            self.lengthMm = lengthMm
        }
    }

    /// What happened during or right after the injections.
    public enum ImmediateReaction: String, Codable, Sendable, CaseIterable {
        /// No reaction beyond the expected soreness.
        case noReaction = "none"
        /// A vasovagal episode (faintness, pallor).
        case vasovagal
        /// Pain beyond what is expected.
        case excessivePain = "excessive-pain"
        /// Bleeding that needed pressure.
        case bleeding
        /// Signs of an allergic reaction.
        case allergic
        /// Something else, described in ``InjectionAdministered/note``.
        case other
    }

    /// The practitioner who injected.
    public var practitioner: Identifier
    /// The solution injected.
    public var proliferant: Proliferant
    /// Lot number of the solution or its main component.
    public var lot: Label
    /// Expiry date of that lot.
    public var expiry: CalendarDay
    /// The sites injected, at least one.
    public var sites: [Site]
    /// How the needle was guided.
    public var guidance: Guidance
    /// The needle used.
    public var needle: Needle
    /// The immediate reaction.
    public var immediateReaction: ImmediateReaction
    /// Whether aftercare advice was given.
    public var aftercareGiven: Bool
    /// Anything else worth recording.
    public var note: Note?

    /// Makes an injection record.
    public init(
        practitioner: Identifier, proliferant: Proliferant, lot: Label, expiry: CalendarDay, sites: [Site],
        guidance: Guidance, needle: Needle, immediateReaction: ImmediateReaction, aftercareGiven: Bool,
        note: Note? = nil
    ) {
        self.practitioner = practitioner
        self.proliferant = proliferant
        self.lot = lot
        self.expiry = expiry
        self.sites = sites
        self.guidance = guidance
        self.needle = needle
        self.immediateReaction = immediateReaction
        self.aftercareGiven = aftercareGiven
        self.note = note
    }

    /// The total volume injected, in mL.
    public var totalVolumeMl: Double { sites.reduce(0) { $0 + $1.volumeMl.value } }

    /// Refuses an empty list of sites and sites with a wrong level.
    public func validate() throws(PayloadError) {
        if sites.isEmpty {
            throw PayloadError(path: "$.sites", "an injection needs at least one site")
        }
        for (position, site) in sites.enumerated() {
            try site.site.checkLevel(site.level, at: "$.sites[\(position)]")
        }
    }
}
