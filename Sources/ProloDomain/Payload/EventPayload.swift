import Foundation

/// The payload of one event type and schema version of the clinical catalog.
///
/// Conforming types are plain `Codable` structs whose fields use the validated value types
/// (``Score``, ``Quantity``, ``Timestamp``, ``Checked``) so that decoding alone enforces ranges and
/// formats; ``validate()`` adds rules that span fields. Their JSON Schema is
/// `Schemas/events/<eventType>.v<schemaVersion>.json`.
public protocol EventPayload: Codable, Sendable, Equatable {
    /// The event type this payload belongs to.
    static var eventType: EventType { get }
    /// The payload's schema version.
    static var schemaVersion: Int { get }
    /// Checks rules that span several fields; throws naming the field at fault.
    func validate() throws(PayloadError)
}

extension EventPayload {
    public static var schemaVersion: Int { 1 }
    public func validate() throws(PayloadError) {}
}

/// Turns payloads into canonical bytes and back, refusing anything the schema refuses.
public enum PayloadCodec {
    /// Decodes and validates a payload from JSON bytes.
    ///
    /// Refuses malformed JSON (with the byte offset), missing or mistyped fields, values out of range,
    /// unknown enum values, `null` where a value is required, and fields the schema does not know —
    /// each with the JSON path of the field.
    public static func decode<Payload: EventPayload>(
        _ type: Payload.Type, from bytes: some Collection<UInt8>
    ) throws(PayloadError) -> Payload {
        let input: JSONValue
        do {
            input = try JSONParser.parse(bytes)
        } catch {
            throw PayloadError(.malformedJSON, path: "$", error.description)
        }
        return try decode(type, from: input)
    }

    /// Decodes and validates a payload from an already-parsed JSON value.
    public static func decode<Payload: EventPayload>(
        _ type: Payload.Type, from input: JSONValue
    ) throws(PayloadError) -> Payload {
        guard case .object = input else {
            throw PayloadError(path: "$", "the payload must be a JSON object, not \(input.typeName)")
        }
        let decoder = JSONValueDecoder()
        let payload: Payload
        do {
            payload = try decoder.decode(Payload.self, from: input)
        } catch let error as DecodingError {
            throw PayloadError(error)
        } catch let error as PayloadError {
            throw error
        } catch {
            throw PayloadError(path: "$", "\(error)")
        }
        // Whatever the type did not read is a field the schema does not allow.
        if let unread = decoder.firstUnread(in: input) {
            throw PayloadError(
                path: unread.path,
                unread.isNull
                    ? "null is not allowed; leave the field out instead"
                    : "unknown field \"\(unread.key)\" is not allowed here")
        }
        try payload.validate()
        return payload
    }

    /// The canonical JSON bytes of a payload: sorted keys, no white space.
    public static func canonicalBytes<Payload: EventPayload>(of payload: Payload) throws(PayloadError) -> [UInt8] {
        CanonicalJSON.encode(try encodeValue(payload))
    }

    /// The payload as a JSON value tree.
    public static func encodeValue<Payload: Encodable>(_ payload: Payload) throws(PayloadError) -> JSONValue {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do {
            let data = try encoder.encode(payload)
            return try JSONParser.parse(data)
        } catch let error as EncodingError {
            throw PayloadError(path: "$", "cannot encode payload: \(error)")
        } catch {
            throw PayloadError(path: "$", "cannot encode payload: \(error)")
        }
    }
}
