/// `device.revoked`: a device's key is no longer trusted for new events.
///
/// Administrative: no patient stream and no personal data. The device is named by its key, its name, or both.
public struct DeviceRevoked: EventPayload {
    /// This payload belongs to `device.revoked` events.
    public static let eventType = EventType.deviceRevoked

    /// Why the device is revoked.
    public enum Reason: String, Codable, Sendable, CaseIterable {
        /// The device was lost.
        case lost
        /// The device was stolen.
        case stolen
        /// Its key may be known to someone else.
        case compromised
        /// Taken out of service.
        case retired
        /// The patient's home use ended.
        case homeUseEnded = "home-use-ended"
        /// Another reason, in the note.
        case other
    }

    /// The device's name, as enrolled.
    public var deviceName: Label?
    /// The device's Ed25519 public key, base64, as enrolled.
    public var publicKey: PublicKeyBase64?
    /// Why.
    public var reason: Reason
    /// The administrator who revokes it.
    public var revokedBy: Identifier
    /// Details.
    public var note: Note?

    /// Makes a revocation.
    public init(
        deviceName: Label? = nil, publicKey: PublicKeyBase64? = nil, reason: Reason, revokedBy: Identifier,
        note: Note? = nil
    ) {
        self.deviceName = deviceName
        self.publicKey = publicKey
        self.reason = reason
        self.revokedBy = revokedBy
        self.note = note
    }

    /// Refuses a revocation that names the device neither by key nor by name.
    public func validate() throws(PayloadError) {
        if deviceName == nil, publicKey == nil {
            throw PayloadError(path: "$.publicKey", "name the device by publicKey or deviceName")
        }
    }
}
