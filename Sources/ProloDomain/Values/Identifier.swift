/// The rules of a validated text field, used as the type parameter of ``Checked``.
public protocol TextRule: Sendable {
    /// Whether `text` is acceptable.
    static func allows(_ text: String) -> Bool
    /// What acceptable text looks like, for messages.
    static var expectation: String { get }
}

/// Text that passed its ``TextRule`` when decoded or made: identifiers, free-text notes, hashes.
public struct Checked<Rule: TextRule>: Sendable, Hashable, Comparable, Codable, CustomStringConvertible,
    ExpressibleByStringLiteral
{
    /// The text.
    public let text: String

    /// Makes checked text, refusing what the rule does not allow.
    public init(checked text: String) throws(PayloadError) {
        guard Rule.allows(text) else { throw PayloadError(path: "$", "\"\(text.prefix(80))\" is not \(Rule.expectation)") }
        self.text = text
    }

    /// Text written in code; a literal the rule refuses is a programming error.
    public init(stringLiteral text: String) {
        precondition(Rule.allows(text), "\(text) is not \(Rule.expectation)")
        self.text = text
    }

    public var description: String { text }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard Rule.allows(text) else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "\"\(text.prefix(80))\" is not \(Rule.expectation)")
        }
        self.text = text
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(text)
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.text < rhs.text }
}

/// An opaque identifier: 1–64 characters of letters, digits and `._:-`, starting with a letter or digit.
public enum IdentifierRule: TextRule {
    public static let expectation = "an identifier (1–64 letters, digits, '.', '_', ':' or '-', starting with a letter or digit)"
    public static func allows(_ text: String) -> Bool {
        // Stored rows check three identifiers each: read native (contiguous) text in place.
        if let allowed = text.utf8.withContiguousStorageIfAvailable(isIdentifier) { return allowed }
        return Array(text.utf8).withUnsafeBufferPointer(isIdentifier)
    }
    private static func isIdentifier(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let first = bytes.first, bytes.count <= 64, isAlphanumeric(first) else { return false }
        return bytes.allSatisfy { isAlphanumeric($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_")
            || $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: "-") }
    }
    static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
    }
}

/// Free text: 1–4000 characters, not only white space.
public enum NoteRule: TextRule {
    public static let expectation = "text of 1 to 4000 characters"
    public static func allows(_ text: String) -> Bool {
        (1...4000).contains(text.count) && text.contains { !$0.isWhitespace }
    }
}

/// A short label (a name, a lot number, a protocol name): 1–200 characters, not only white space.
public enum LabelRule: TextRule {
    public static let expectation = "text of 1 to 200 characters"
    public static func allows(_ text: String) -> Bool {
        (1...200).contains(text.count) && text.contains { !$0.isWhitespace }
    }
}

/// A lowercase hexadecimal SHA-256 digest, 64 characters.
public enum SHA256HexRule: TextRule {
    public static let expectation = "a SHA-256 digest as 64 lowercase hexadecimal characters"
    public static func allows(_ text: String) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }
}

/// A UUID in lowercase canonical text form (`0193a6f0-7c1e-7a3b-9f00-1c2d3e4f5a6b`).
public enum UUIDRule: TextRule {
    public static let expectation = "a lowercase UUID like 0193a6f0-7c1e-7a3b-9f00-1c2d3e4f5a6b"
    public static func allows(_ text: String) -> Bool {
        // Every stored row's id passes here: read native (contiguous) text in place, without copying it.
        guard text.utf8.count == 36 else { return false }
        if let allowed = text.utf8.withContiguousStorageIfAvailable(isUUID) { return allowed }
        return Array(text.utf8).withUnsafeBufferPointer(isUUID)
    }

    private static func isUUID(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard bytes.count == 36 else { return false }
        for position in 0..<36 {
            let byte = bytes[position]
            switch position {
            case 8, 13, 18, 23:
                guard byte == UInt8(ascii: "-") else { return false }
            default:
                guard (0x30...0x39).contains(byte) || (0x61...0x66).contains(byte) else { return false }
            }
        }
        return true
    }
}

/// An opaque identifier of a patient, practitioner, device or site.
public typealias Identifier = Checked<IdentifierRule>
/// A patient's opaque id: the stream every clinical event belongs to.
public typealias PatientID = Checked<IdentifierRule>
/// The id of an event (UUID v7, lowercase).
public typealias EventID = Checked<UUIDRule>
/// Free text such as a clinical note.
public typealias Note = Checked<NoteRule>
/// A short label such as a name or a lot number.
public typealias Label = Checked<LabelRule>
/// A SHA-256 digest in hexadecimal.
public typealias SHA256Hex = Checked<SHA256HexRule>
