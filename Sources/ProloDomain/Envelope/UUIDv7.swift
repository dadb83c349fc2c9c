/// Time-ordered UUIDs (RFC 9562 version 7): 48 bits of Unix milliseconds, then random bits.
public enum UUIDv7 {
    /// A new version-7 UUID in lowercase text form for the given time.
    public static func make(milliseconds: Int64) -> EventID {
        var generator = SystemRandomNumberGenerator()
        return make(milliseconds: milliseconds, using: &generator)
    }

    /// A version-7 UUID drawing its random bits from `generator` (deterministic in tests).
    public static func make(milliseconds: Int64, using generator: inout some RandomNumberGenerator) -> EventID {
        let time = UInt64(max(0, milliseconds)) & 0xFFFF_FFFF_FFFF
        let random = (generator.next() as UInt64, generator.next() as UInt64)
        // Bytes 0–5: the time, big-endian; 6–13: the first random word's low bytes first; 14–15: the second's.
        func byte(_ position: Int) -> UInt8 {
            switch position {
            case 0..<6: UInt8(truncatingIfNeeded: time >> (8 * (5 - position)))
            case 6: 0x70 | (UInt8(truncatingIfNeeded: random.0 >> 48) & 0x0F)  // version 7
            case 8: 0x80 | (UInt8(truncatingIfNeeded: random.0) & 0x3F)  // RFC 4122 variant
            case 6..<14: UInt8(truncatingIfNeeded: random.0 >> (8 * (position % 8)))
            default: UInt8(truncatingIfNeeded: random.1 >> (8 * (position % 8)))
            }
        }
        let text = String(unsafeUninitializedCapacity: 36) { text in
            var offset = 0
            for position in 0..<16 {
                if position == 4 || position == 6 || position == 8 || position == 10 {
                    text[offset] = UInt8(ascii: "-")
                    offset += 1
                }
                let value = byte(position)
                text[offset] = Hex.digits[Int(value >> 4)]
                text[offset + 1] = Hex.digits[Int(value & 0x0F)]
                offset += 2
            }
            return offset
        }
        return EventID(uncheckedText: text)
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
        if let text = bytes.withContiguousStorageIfAvailable(encode(buffer:)) { return text }
        return Array(bytes).withUnsafeBufferPointer(encode(buffer:))
    }

    private static func encode(buffer bytes: UnsafeBufferPointer<UInt8>) -> String {
        String(unsafeUninitializedCapacity: bytes.count * 2) { text in
            for (index, byte) in bytes.enumerated() {
                text[2 * index] = digits[Int(byte >> 4)]
                text[2 * index + 1] = digits[Int(byte & 0x0F)]
            }
            return bytes.count * 2
        }
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
