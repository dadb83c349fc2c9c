public import ProloProjections

/// How an export is written.
public struct FHIRExportOptions: Sendable, Hashable {
    /// The base of every `fullUrl` (`<base>/Patient/<id>`): the FHIR server the export is meant for. The default
    /// uses the reserved `.invalid` domain, so it never names someone else's server.
    public var base: String
    /// The thresholds of the treatment fold, which derives the alerts exported as DetectedIssues and Flags.
    public var policy: TreatmentPolicy

    /// The default base.
    public static let defaultBase = "https://prolo.invalid/fhir"

    /// Options; the defaults unless given.
    public init(base: String = defaultBase, policy: TreatmentPolicy = .standard) {
        self.base = base.hasSuffix("/") ? String(base.dropLast()) : base
        self.policy = policy
    }
}
