public import Crypto

/// A SHA-256 digest identifying an event's content (32 bytes, written as lowercase hex).
public struct EventHash: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The 32 digest bytes.
    public let bytes: [UInt8]

    /// Wraps 32 digest bytes; other lengths are refused.
    public init(bytes: [UInt8]) throws(PayloadError) {
        guard bytes.count == 32 else { throw PayloadError(path: "hash", "a SHA-256 digest is 32 bytes, not \(bytes.count)") }
        self.bytes = bytes
    }

    init(digest: SHA256.Digest) {
        bytes = Array(digest)
    }

    /// Parses 64 lowercase hex digits.
    public init(hex: String) throws(PayloadError) {
        guard SHA256HexRule.allows(hex), let bytes = Hex.decode(hex) else {
            throw PayloadError(path: "hash", "\"\(hex.prefix(80))\" is not a SHA-256 digest in lowercase hex")
        }
        self.bytes = bytes
    }

    /// Lowercase hex.
    public var hex: String { Hex.encode(bytes) }
    /// The first 12 hex digits, for one-line listings.
    public var short: String { String(hex.prefix(12)) }
    public var description: String { hex }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        do {
            try self.init(hex: try container.decode(String.self))
        } catch let error as PayloadError {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.message)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(hex)
    }
}
