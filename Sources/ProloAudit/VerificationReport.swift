import ProloDomain
public import ProloStore

/// One problem `prolo audit verify` found, at the event where the history stops being provable.
public struct VerificationProblem: Error, Sendable, Hashable, CustomStringConvertible {
    /// What is wrong.
    public enum Kind: String, Sendable {
        case missingTrigger = "missing-trigger"
        case untrustedEnrollment = "untrusted-enrollment"
        case unenrolledOrigin = "unenrolled-origin"
        case gap
        case brokenLink = "broken-link"
        case brokenPatientLink = "broken-patient-link"
        case badHash = "bad-hash"
        case badSignature = "bad-signature"
        case damagedRow = "damaged-row"
        case unreportedFork = "unreported-fork"
        case revoked = "after-revocation"
        case derivedColumn = "derived-column"
    }

    public let kind: Kind
    /// The origin and position, when the problem is at an event.
    public let origin: String?
    public let originSeq: Int64?
    public let eventID: String?
    public let message: String

    public var description: String {
        var place = ""
        if let origin { place += "origin \(origin)" }
        if let originSeq { place += " originSeq \(originSeq)" }
        if let eventID { place += " event \(eventID)" }
        return place.isEmpty ? "\(kind.rawValue): \(message)" : "\(place): \(kind.rawValue): \(message)"
    }
}

/// What `prolo audit verify` covered and found.
public struct VerificationReport: Sendable, Hashable {
    /// The head of one origin's chain as verified.
    public struct Head: Sendable, Hashable {
        public let origin: String
        public let device: String?
        public let originSeq: Int64
        public let hash: String
    }

    public var eventsChecked = 0
    /// Whether the append-only triggers on `events` are in place.
    public var triggersIntact = true
    public var heads: [Head] = []
    /// Events a revoked device recorded after its revocation that the store holds flagged `after-revocation`, out
    /// of the read models: reported to the clinic, not an integrity failure (an honest replica may have received
    /// one before the revocation reached it).
    public var heldAfterRevocation = 0
    /// Events whose `patientPrev` does not name their origin's previous event about the patient (or that name one on
    /// an administrative event) that the store holds flagged `broken-patient-link`, out of the read models: a
    /// device's bug, kept so its chain goes on, reported to the clinic; an unflagged one is a finding.
    public var heldBrokenPatientLinks = 0
    /// The first broken link; `nil` when the whole history verifies.
    public var firstProblem: VerificationProblem?
    public var isClean: Bool { firstProblem == nil }

    /// An empty report: nothing checked yet.
    public init() {}
}
