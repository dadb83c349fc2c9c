public import ProloDomain

/// The kinds of review flag the fold raises besides those from merges.
public enum ReviewFlagKind {
    /// Intense pain without fever after an injection: the seed article says it "may be a sign of an infection", so a
    /// clinician looks, but it does not block the next injection. Cleared with `merge-review`, as every review flag.
    public static let intensePain = "intense-pain"
}

extension AlertKind {
    /// Whether an uncleared alert of this kind blocks the next injection: an injection given while one is open
    /// raises `injection-while-red-flag` (possible infection, neurological red flag, serious adverse event, an exam's
    /// red flags, an exam that decided "not a candidate").
    public var blocksNextInjection: Bool {
        switch self {
        case .possibleInfection, .neurologicalRedFlag, .seriousAdverseEvent, .examRedFlag, .notACandidate: true
        default: false
        }
    }
}

extension TreatmentState {
    /// The open alerts that block the next injection until a clinician clears them.
    public var blockingAlerts: [Flag] {
        openAlerts.filter { AlertKind(rawValue: $0.kind)?.blocksNextInjection ?? false }
    }
}
