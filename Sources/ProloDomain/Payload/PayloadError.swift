/// Why a payload was refused, with the JSON path of the offending field (`$.sites[2].volumeMl`).
public struct PayloadError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of problem this is, for callers that branch on it.
    public enum Code: String, Sendable {
        /// The bytes are not well-formed JSON.
        case malformedJSON = "malformed-json"
        /// A field is missing, of the wrong type, out of range, unknown, or not one of the allowed values.
        case schemaViolation = "schema-violation"
        /// The event type or its schema version is not in this build's catalog.
        case unknownType = "unknown-type"
    }

    /// The kind of problem.
    public let code: Code
    /// JSON path of the field at fault; `$` for the document itself.
    public let path: String
    /// What is wrong, in words an operator can act on.
    public let message: String

    /// Makes an error for the field at `path`.
    public init(_ code: Code = .schemaViolation, path: String, _ message: String) {
        self.code = code
        self.path = path
        self.message = message
    }

    public var description: String { "\(path): \(message)" }
}

extension PayloadError {
    /// Renders a coding path as a JSON path: `$.sites[2].volumeMl`.
    public static func jsonPath(_ codingPath: [any CodingKey]) -> String {
        var path = "$"
        for key in codingPath {
            if let position = key.intValue {
                path += "[\(position)]"
            } else {
                path += ".\(key.stringValue)"
            }
        }
        return path
    }

    /// Translates a Foundation `DecodingError` into a payload error that names the field.
    public init(_ error: DecodingError) {
        switch error {
        case .keyNotFound(let key, let context):
            self.init(path: Self.jsonPath(context.codingPath + [key]), "required field is missing")
        case .typeMismatch(let type, let context):
            self.init(path: Self.jsonPath(context.codingPath), "wrong type, expected \(Self.jsonTypeName(of: type))")
        case .valueNotFound(let type, let context):
            self.init(path: Self.jsonPath(context.codingPath), "null is not allowed, expected \(Self.jsonTypeName(of: type))")
        case .dataCorrupted(let context):
            let message = context.debugDescription.hasPrefix("Cannot initialize")
                ? "not one of the allowed values (\(context.debugDescription))"
                : context.debugDescription
            self.init(path: Self.jsonPath(context.codingPath), message)
        @unknown default:
            self.init(path: "$", "\(error)")
        }
    }

    private static func jsonTypeName(of type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Int.Type, is Int64.Type, is Int32.Type, is UInt.Type: "an integer"
        case is Double.Type, is Float.Type: "a number"
        case is Bool.Type: "a boolean"
        case is [Any].Type: "an array"
        default: "an object or value of \(type)"
        }
    }
}
