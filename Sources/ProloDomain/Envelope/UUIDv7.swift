/// Time-ordered UUIDs (RFC 9562 version 7): 48 bits of Unix milliseconds, then random bits.
public enum UUIDv7 {
    /// A new version-7 UUID in lowercase text form for the given time.
    public static func make(milliseconds: Int64) -> EventID {
        var generator = SystemRandomNumberGenerator()
        return make(milliseconds: milliseconds, using: &generator)
    }

    /// A version-7 UUID drawing its random bits from `generator` (deterministic in tests).
    public static func make(milliseconds: Int64, using generator: inout some RandomNumberGenerator) -> EventID {
        var bytes = [UInt8](repeating: 0, count: 16)
        let time = UInt64(max(0, milliseconds)) & 0xFFFF_FFFF_FFFF
        for position in 0..<6 {
            bytes[position] = UInt8(truncatingIfNeeded: time >> (8 * (5 - position)))
        }
        let random = (generator.next() as UInt64, generator.next() as UInt64)
        for position in 6..<16 {
            let source = position < 14 ? random.0 : random.1
            bytes[position] = UInt8(truncatingIfNeeded: source >> (8 * (position % 8)))
        }
        bytes[6] = 0x70 | (bytes[6] & 0x0F)  // version 7
        bytes[8] = 0x80 | (bytes[8] & 0x3F)  // RFC 4122 variant
        var text: [UInt8] = []
        text.reserveCapacity(36)
        for (position, byte) in bytes.enumerated() {
            if position == 4 || position == 6 || position == 8 || position == 10 { text.append(UInt8(ascii: "-")) }
            text.append(Hex.digits[Int(byte >> 4)])
            text.append(Hex.digits[Int(byte & 0x0F)])
        }
        return EventID(uncheckedText: String(decoding: text, as: UTF8.self))
    }
}

extension Checked {
    /// Wraps text this module made itself and knows to be valid.
    init(uncheckedText text: String) {
        assert(Rule.allows(text))
        self.text = text
    }
}

/// Lowercase hexadecimal encoding.
public enum Hex {
    static let digits = Array("0123456789abcdef".utf8)

    /// The lowercase hex text of `bytes`.
    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        var output: [UInt8] = []
        for byte in bytes {
            output.append(digits[Int(byte >> 4)])
            output.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// The bytes of hex text, or `nil` when it is not an even number of hex digits.
    public static func decode(_ text: String) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count % 2 == 0 else { return nil }
        var output: [UInt8] = []
        output.reserveCapacity(utf8.count / 2)
        var position = 0
        while position < utf8.count {
            guard let high = value(utf8[position]), let low = value(utf8[position + 1]) else { return nil }
            output.append(high << 4 | low)
            position += 2
        }
        return output
    }

    private static func value(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: byte - 0x30
        case 0x61...0x66: byte - 0x61 + 10
        case 0x41...0x46: byte - 0x41 + 10
        default: nil
        }
    }
}
