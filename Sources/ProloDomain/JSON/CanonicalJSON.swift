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
            // Sorted by the keys' first eight bytes as a number, ties by the whole key: no string is compared or
            // member moved for most pairs (this sort was a tenth of a bulk FHIR export's time).
            var order: [(prefix: UInt64, index: [String: JSONValue].Index)] = []
            order.reserveCapacity(members.count)
            var index = members.startIndex
            while index != members.endIndex {
                order.append((keyPrefix(members[index].key), index))
                members.formIndex(after: &index)
            }
            order.sort { a, b in
                a.prefix != b.prefix ? a.prefix < b.prefix : utf8Precedes(members[a.index].key, members[b.index].key)
            }
            for (position, entry) in order.enumerated() {
                if position > 0 { output.append(UInt8(ascii: ",")) }
                let member = members[entry.index]
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

    /// A key's first eight UTF-8 bytes as a big-endian number (zeros past its end): comparing two of them orders the
    /// keys as their bytes do, unless they are equal.
    static func keyPrefix(_ key: String) -> UInt64 {
        var key = key
        return key.withUTF8 { bytes in
            var prefix: UInt64 = 0
            for index in 0..<Swift.min(8, bytes.count) { prefix |= UInt64(bytes[index]) << UInt64(56 - 8 * index) }
            return prefix
        }
    }

    /// Whether `left`'s UTF-8 bytes sort before `right`'s (the order of canonical keys), compared in place.
    static func utf8Precedes(_ left: String, _ right: String) -> Bool {
        var (left, right) = (left, right)
        return left.withUTF8 { a in
            right.withUTF8 { b in
                for index in 0..<min(a.count, b.count) where a[index] != b[index] { return a[index] < b[index] }
                return a.count < b.count
            }
        }
    }

    /// Appends a string value: runs of bytes that need no escape are copied whole.
    fileprivate static func writeString(_ text: String, into output: inout [UInt8]) {
        output.append(UInt8(ascii: "\""))
        var text = text
        text.withUTF8 { bytes in
            var start = 0
            for index in 0..<bytes.count {
                let byte = bytes[index]
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                output.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<index]))
                writeEscape(byte, into: &output)
                start = index + 1
            }
            output.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start...]))
        }
        output.append(UInt8(ascii: "\""))
    }

    /// The escape of a byte that may not appear raw in a JSON string.
    private static func writeEscape(_ byte: UInt8, into output: inout [UInt8]) {
        switch byte {
        case UInt8(ascii: "\""): output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
        case UInt8(ascii: "\\"): output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
        case 0x0A: output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
        case 0x0D: output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
        case 0x09: output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
        case 0x08: output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "b")])
        case 0x0C: output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "f")])
        default:
            output.append(contentsOf: "\\u00".utf8)
            output.append(hexDigits[Int(byte >> 4)])
            output.append(hexDigits[Int(byte & 0x0F)])
        }
    }
}
