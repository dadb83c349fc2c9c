public import ProloDomain

/// What a receiver admits from one sender (DESIGN §6 "Scoped"): everything, or a home device's own events about
/// its patient. ``DeviceAccess/appendScope`` derives it; ``EventStore/append(_:scope:checkpoint:)`` enforces it.
///
/// An event outside the scope is never stored in the log: it is kept in quarantine with the reason, for good
/// (it is not retried), and shown to the clinic.
public enum AppendScope: Sendable, Hashable {
    /// No limits beyond the device registry's own (a clinic device, a replica, the store itself).
    case unrestricted
    /// Only events of origin `device` about `patient`: what a patient's home device may push.
    case homeDevice(Identifier, patient: PatientID)

    /// Why `event` is outside this scope, or `nil` when the scope admits it.
    public func refusal(of event: Event) -> String? {
        guard case .homeDevice(let device, let patient) = self else { return nil }
        if event.origin != device {
            return "pushed by device \(device), which may only push its own events"
        }
        if event.patient != patient {
            return "outside the sender's scope: only patient \(patient)'s events may be sent"
        }
        return nil
    }

    /// Whether the scope admits `event`.
    public func admits(_ event: Event) -> Bool { refusal(of: event) == nil }
}
