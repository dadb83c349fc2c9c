public import ProloDomain

/// What a receiver admits from one sender (DESIGN §6 "Scoped"): everything, or a home device's own events about
/// its patient. ``DeviceAccess/appendScope`` derives it; ``EventStore/append(_:scope:checkpoint:)`` enforces it.
///
/// An event of another origin is never stored in the log from this sender: it is kept in quarantine with the
/// reason, for good (it is not retried; its own origin delivers it), and shown to the clinic. The device's own
/// events about another patient (or clinical events without one) are authentic links of its chain: the registry
/// holds them `out-of-scope` (stored, out of the read models, never served to a patient's slice), so the chain
/// is never blocked behind them.
public enum AppendScope: Sendable, Hashable {
    /// No limits beyond the device registry's own (a clinic device, a replica, the store itself).
    case unrestricted
    /// Only events of origin `device` about `patient`: what a patient's home device may push.
    case homeDevice(Identifier, patient: PatientID)

    /// Why `event` is outside this scope, or `nil` when the scope admits it.
    public func refusal(of event: Event) -> String? {
        guard case .homeDevice(let device, _) = self else { return nil }
        if event.origin != device {
            return "pushed by device \(device), which may only push its own events"
        }
        return nil
    }

    /// Whether the scope admits `event`.
    public func admits(_ event: Event) -> Bool { refusal(of: event) == nil }
}
