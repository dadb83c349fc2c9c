/// `event.amended`: a correction of an earlier event (HIPAA right to amend); the original stays in the log.
///
/// Projections read ``payload`` in place of the target's payload; audit shows both.
public struct EventAmended: EventPayload {
    /// This payload belongs to `event.amended` events.
    public static let eventType = EventType.eventAmended

    /// The event corrected.
    public var target: EventID
    /// The corrected event's type; ``payload`` must be a valid payload of it.
    public var targetType: EventType
    /// The complete corrected payload.
    public var payload: JSONValue
    /// Why the correction is made.
    public var reason: Note
    /// Who amends.
    public var amendedBy: Identifier

    /// Makes an amendment.
    public init(target: EventID, targetType: EventType, payload: JSONValue, reason: Note, amendedBy: Identifier) {
        self.target = target
        self.targetType = targetType
        self.payload = payload
        self.reason = reason
        self.amendedBy = amendedBy
    }

    /// Makes an amendment from a typed corrected payload.
    public init<Payload: EventPayload>(
        target: EventID, correctedPayload: Payload, reason: Note, amendedBy: Identifier
    ) throws(PayloadError) {
        self.init(
            target: target, targetType: Payload.eventType, payload: try PayloadCodec.encodeValue(correctedPayload),
            reason: reason, amendedBy: amendedBy)
    }

    /// The corrected payload, decoded and validated as its type.
    public func correctedPayload() throws(PayloadError) -> any EventPayload {
        do {
            return try targetType.decodePayload(from: payload)
        } catch {
            let rest = error.path.hasPrefix("$") ? String(error.path.dropFirst()) : "." + error.path
            throw PayloadError(
                error.code, path: "$.payload" + rest, "corrected \(targetType.rawValue) payload: \(error.message)")
        }
    }

    /// Refuses a corrected payload that is not valid for ``targetType``, naming the field under `$.payload`.
    public func validate() throws(PayloadError) {
        _ = try correctedPayload()
    }
}
