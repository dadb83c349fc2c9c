/// `side-effect.reported`: the patient or a clinician reports a side effect, usually after an injection.
///
/// The treatment projection raises alerts from these reports (possible infection, neurological red flag,
/// serious adverse event); the report itself is the fact, whatever the alert policy.
public struct SideEffectReported: EventPayload {
    /// This payload belongs to `side-effect.reported` events.
    public static let eventType = EventType.sideEffectReported
    /// v2 adds ``localSigns`` and the kind ``SideEffectKind/chestPain``; v1 reports are upcast on read.
    public static let schemaVersion = 2

    /// Who reports.
    public var reporter: Reporter
    /// When the side effect began.
    public var onset: Timestamp
    /// What the patient has, at least one kind.
    public var kinds: [SideEffectKind]
    /// CTCAE grade, 1 (mild) to 5 (death).
    public var grade: Score<CTCAEGradeScale>
    /// Highest measured body temperature, in °C, when measured.
    public var temperatureC: Quantity<DegreesCelsius>?
    /// Local signs of infection at the injection sites, when looked for (since v2; absent in v1 reports).
    public var localSigns: [LocalSign]?
    /// The `injection.administered` event this is thought to follow, when known.
    public var relatedInjection: EventID?
    /// The reporter's own words.
    public var note: Note?

    /// Makes a side-effect report.
    public init(
        reporter: Reporter, onset: Timestamp, kinds: [SideEffectKind], grade: Score<CTCAEGradeScale>,
        temperatureC: Quantity<DegreesCelsius>? = nil, localSigns: [LocalSign]? = nil, relatedInjection: EventID? = nil,
        note: Note? = nil
    ) {
        self.localSigns = localSigns
        self.reporter = reporter
        self.onset = onset
        self.kinds = kinds
        self.grade = grade
        self.temperatureC = temperatureC
        self.relatedInjection = relatedInjection
        self.note = note
    }

    /// Refuses a report with no kind.
    public func validate() throws(PayloadError) {
        if kinds.isEmpty {
            throw PayloadError(path: "$.kinds", "a side-effect report needs at least one kind")
        }
        if let localSigns, Set(localSigns).count != localSigns.count {
            throw PayloadError(path: "$.localSigns", "each local sign is listed once")
        }
    }
}
