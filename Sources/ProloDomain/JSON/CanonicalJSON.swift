/// Canonical JSON bytes: object keys sorted by their UTF-8 bytes, no insignificant whitespace.
///
/// The rules (published in `Schemas/envelope.md`, "Canonical JSON") match Python's
/// `json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)` for the values
/// Prolo stores: integers in decimal, fractions in the shortest form that round-trips, strings with
/// only `"`, `\`, and control characters escaped.
public enum CanonicalJSON {
    /// The canonical bytes of a value.
    public static func encode(_ value: JSONValue) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(256)
        write(value, into: &output)
        return output
    }

    /// Appends canonical JSON pieces to a buffer, for callers that know their keys' order statically.
    public struct Writer {
        /// The bytes written so far.
        public private(set) var bytes: [UInt8] = []

        /// An empty writer with room for `capacity` bytes.
        public init(capacity: Int) {
            bytes.reserveCapacity(capacity)
        }

        /// Appends text as is (punctuation and keys the caller has made canonical).
        public mutating func raw(_ text: StaticString) {
            text.withUTF8Buffer { bytes.append(contentsOf: $0) }
        }

        /// Appends a string value, escaped.
        public mutating func string(_ text: String) {
            CanonicalJSON.writeString(text, into: &bytes)
        }

        /// Appends a string value, or `null`.
        public mutating func optionalString(_ text: String?) {
            if let text { string(text) } else { raw("null") }
        }

        /// Appends an integer.
        public mutating func integer(_ value: Int64) {
            bytes.append(contentsOf: String(value).utf8)
        }
    }

    private static func write(_ value: JSONValue, into output: inout [UInt8]) {
        switch value {
        case .null: output.append(contentsOf: "null".utf8)
        case .bool(let flag): output.append(contentsOf: (flag ? "true" : "false").utf8)
        case .int(let integer): output.append(contentsOf: String(integer).utf8)
        case .double(let double): writeDouble(double, into: &output)
        case .string(let text): writeString(text, into: &output)
        case .array(let elements):
            output.append(UInt8(ascii: "["))
            for (position, element) in elements.enumerated() {
                if position > 0 { output.append(UInt8(ascii: ",")) }
                write(element, into: &output)
            }
            output.append(UInt8(ascii: "]"))
        case .object(let members):
            output.append(UInt8(ascii: "{"))
            let sorted = members.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
            for (position, member) in sorted.enumerated() {
                if position > 0 { output.append(UInt8(ascii: ",")) }
                writeString(member.key, into: &output)
                output.append(UInt8(ascii: ":"))
                write(member.value, into: &output)
            }
            output.append(UInt8(ascii: "}"))
        }
    }

    private static func writeDouble(_ double: Double, into output: inout [UInt8]) {
        // Swift's description is the shortest representation that round-trips, as Python's repr.
        output.append(contentsOf: double.description.utf8)
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    fileprivate static func writeString(_ text: String, into output: inout [UInt8]) {
        output.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case 0x0A: output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case 0x0D: output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case 0x09: output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0x08: output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "b")])
            case 0x0C: output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "f")])
            case 0x00..<0x20:
                output.append(contentsOf: "\\u00".utf8)
                output.append(hexDigits[Int(byte >> 4)])
                output.append(hexDigits[Int(byte & 0x0F)])
            default:
                output.append(byte)
            }
        }
        output.append(UInt8(ascii: "\""))
    }
}
