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
        let payload: Payload
        do {
            payload = try JSONDecoder().decode(Payload.self, from: Data(CanonicalJSON.encode(input)))
        } catch let error as DecodingError {
            throw locatingLostPath(PayloadError(error), in: input)
        } catch {
            throw PayloadError(path: "$", "\(error)")
        }
        // Whatever the type did not read back out is a field the schema does not allow.
        let echoed = try encodeValue(payload)
        if let path = firstUnknownField(input: input, known: echoed, path: "$") {
            throw PayloadError(path: path.path, path.message)
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

    /// Foundation's JSONDecoder on Linux drops the coding path when a number does not fit the field's type
    /// (a fraction or an overflow where an integer belongs). Find that number in the input and name its field.
    private static func locatingLostPath(_ error: PayloadError, in input: JSONValue) -> PayloadError {
        guard error.path == "$", case .object = input, let path = firstNonInteger(in: input, path: "$") else {
            return error
        }
        return PayloadError(path: path, "wrong type, expected an integer")
    }

    private static func firstNonInteger(in value: JSONValue, path: String) -> String? {
        switch value {
        case .double(let number) where number.rounded() != number || abs(number) >= 9.0e15: return path
        case .array(let elements):
            for (position, element) in elements.enumerated() {
                if let found = firstNonInteger(in: element, path: path + "[\(position)]") { return found }
            }
            return nil
        case .object(let members):
            for key in members.keys.sorted() {
                if let found = firstNonInteger(in: members[key]!, path: path + "." + key) { return found }
            }
            return nil
        default:
            return nil
        }
    }

    private static func firstUnknownField(
        input: JSONValue, known: JSONValue, path: String
    ) -> (path: String, message: String)? {
        switch (input, known) {
        case (.object(let inputMembers), .object(let knownMembers)):
            for key in inputMembers.keys.sorted() {
                let value = inputMembers[key]!
                let memberPath = path + "." + key
                guard let knownValue = knownMembers[key] else {
                    if case .null = value {
                        return (memberPath, "null is not allowed; leave the field out instead")
                    }
                    return (memberPath, "unknown field \"\(key)\" is not allowed here")
                }
                if let found = firstUnknownField(input: value, known: knownValue, path: memberPath) { return found }
            }
            return nil
        case (.array(let inputElements), .array(let knownElements)):
            for (position, element) in inputElements.enumerated() where position < knownElements.count {
                if let found = firstUnknownField(input: element, known: knownElements[position], path: path + "[\(position)]") {
                    return found
                }
            }
            return nil
        default:
            return nil
        }
    }
}
