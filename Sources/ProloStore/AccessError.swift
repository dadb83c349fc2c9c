/// Why a token, a device or a sync was refused by the scope rules (``DeviceAccess``): a code to match on and a
/// message a clinic operator can act on, naming the device by name and origin.
public struct AccessError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What was refused.
    public enum Code: String, Sendable, Hashable {
        /// A scope that is not `clinic`, `replica`, `audit` or `patient:ID`.
        case malformedScope = "malformed-scope"
        /// No enrolled device has this name or origin.
        case unknownDevice = "unknown-device"
        /// Several enrolled devices have this name: name one by its origin.
        case ambiguousDevice = "ambiguous-device"
        /// The device was revoked: it gets no tokens and its tokens are refused.
        case deviceRevoked = "device-revoked"
        /// The scope does not fit the device: a `patient:ID` scope for anything but that patient's home device,
        /// or another scope for a home device.
        case scopeNotAllowed = "scope-not-allowed"
        /// A token issued before tokens were bound to keys, whose device name named no single device.
        case unboundToken = "unbound-token"
        /// This store cannot hold what the peer sends: a full store offered a patient's slice, or a home store
        /// offered another patient's.
        case notThisStoresScope = "not-this-stores-scope"
    }

    /// What was refused.
    public let code: Code
    /// Why, and what to do instead.
    public let message: String

    /// Makes an error.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
