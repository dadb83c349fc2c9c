/// A JSON document as a value tree that keeps integers and fractions apart, so canonical bytes are stable.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// The members of an object, or `nil` when this value is not an object.
    public var objectValue: [String: JSONValue]? {
        if case .object(let members) = self { return members }
        return nil
    }

    /// The string, or `nil` when this value is not a string.
    /// The value as a 64-bit integer: an integer, or a number with no fractional part in range (JSON Schema's
    /// `integer` counts `2.0` as one); otherwise `nil`.
    public var integerValue: Int64? {
        switch self {
        case .int(let number): return number
        case .double(let number):
            guard number.rounded(.towardZero) == number, let exact = Int64(exactly: number) else { return nil }
            return exact
        default: return nil
        }
    }

    public var stringValue: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    /// A short name of the value's JSON type, for error messages.
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .int, .double: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }

    /// Looks up a member of an object by key; `nil` for a missing key or a non-object.
    public subscript(key: String) -> JSONValue? {
        objectValue?[key]
    }
}
