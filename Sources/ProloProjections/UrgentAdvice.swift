public import ProloDomain

/// What a patient should do at once when a report raises an urgent alert: the one wording every face shows
/// (`prolo record` on a home store today, a home app later), so the advice cannot drift between them.
///
/// It needs no network: the home store's own projection raises the alert in the append's transaction, and the
/// advice is derived from it. The alert reaches the clinic at the next sync.
public struct UrgentAdvice: Sendable, Hashable, CustomStringConvertible {
    /// The alert the advice is about.
    public let alert: AlertKind
    /// Whether the patient should call emergency services rather than wait for the clinic.
    public let callEmergencyServices: Bool
    /// The advice, in words a patient can act on.
    public let text: String

    /// The advice for an alert kind, or `nil` when the kind is not urgent for the patient.
    public static func advice(for kind: AlertKind) -> UrgentAdvice? {
        switch kind {
        case .possibleInfection:
            UrgentAdvice(
                alert: kind, callEmergencyServices: false,
                text: "This may be an infection after your injection. Contact the clinic now, by phone, today; do "
                    + "not wait for your next appointment. If you feel very unwell, confused or faint, call emergency "
                    + "services.")
        case .neurologicalRedFlag:
            UrgentAdvice(
                alert: kind, callEmergencyServices: true,
                text: "New numbness, tingling or weakness after your injection must be seen today. Contact the clinic "
                    + "now. Call emergency services at once if you have numbness between your legs or around your "
                    + "bottom, or a change in passing urine or controlling your bladder or bowel (cauda equina signs).")
        case .breathlessnessOrChestPain:
            UrgentAdvice(
                alert: kind, callEmergencyServices: true,
                text: "Breathlessness or chest pain after an injection can be a collapsed lung (pneumothorax). Call "
                    + "emergency services now, then tell the clinic.")
        case .allergicReaction:
            UrgentAdvice(
                alert: kind, callEmergencyServices: true,
                text: "This may be an allergic reaction. Contact the clinic now. Call emergency services at once if "
                    + "your face, lips or throat swell, or you are wheezing, breathless or faint.")
        default:
            nil
        }
    }

    /// The advice for the open alerts that `event` raised (it is the first of their `raisedBy`), most urgent first.
    public static func advice(for state: TreatmentState, raisedBy event: String) -> [UrgentAdvice] {
        let kinds = state.openAlerts.filter { $0.raisedBy.first == event }.compactMap { AlertKind(rawValue: $0.kind) }
        return Array(Set(kinds.compactMap(advice(for:))))
            .sorted {
                (TreatmentState.severity(of: $0.alert.rawValue), $0.alert.rawValue) < (
                    TreatmentState.severity(of: $1.alert.rawValue), $1.alert.rawValue
                )
            }
    }

    /// `URGENT (<alert kind>): <advice>`.
    public var description: String { "URGENT (\(alert.rawValue)): \(text)" }
}
