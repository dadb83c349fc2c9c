/// A hybrid logical clock reading: wall-clock milliseconds plus a counter that orders events within one millisecond.
///
/// Readings are totally ordered and, through ``HybridClock``, causally consistent across devices with
/// skewed clocks. Written in JSON as fixed-width hex `"019ab3c2d1e5-0000"` so text order is time order.
public struct HLC: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// Milliseconds since the Unix epoch (48 bits are used).
    public let wallMilliseconds: Int64
    /// Logical counter within ``wallMilliseconds``.
    public let counter: UInt16

    /// The largest wall time an HLC can hold (48 bits of milliseconds, year 10889).
    public static let maximumWallMilliseconds: Int64 = (1 << 48) - 1

    /// Makes a reading.
    public init(wallMilliseconds: Int64, counter: UInt16) {
        self.wallMilliseconds = min(max(0, wallMilliseconds), Self.maximumWallMilliseconds)
        self.counter = counter
    }

    /// The reading packed into one integer that sorts like the reading (for the SQLite `hlc` column).
    public var packed: Int64 { wallMilliseconds << 16 | Int64(counter) }

    /// Unpacks ``packed``.
    public init(packed: Int64) {
        self.init(wallMilliseconds: packed >> 16, counter: UInt16(truncatingIfNeeded: packed))
    }

    /// `019ab3c2d1e5-0000`: 12 hex digits of milliseconds, a dash, 4 hex digits of counter.
    public var description: String {
        var text = [UInt8](repeating: UInt8(ascii: "-"), count: 17)
        for position in 0..<12 {
            text[position] = Hex.digits[Int((wallMilliseconds >> (4 * (11 - position))) & 0xF)]
        }
        for position in 0..<4 {
            text[13 + position] = Hex.digits[Int((counter >> (4 * (3 - position))) & 0xF)]
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// Parses the text form, refusing anything else.
    public init(checked text: String) throws(PayloadError) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].count == 12, parts[1].count == 4,
            text.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) || $0 == UInt8(ascii: "-") }),
            let wall = Int64(parts[0], radix: 16), let count = UInt16(parts[1], radix: 16)
        else { throw PayloadError(path: "hlc", "\"\(text)\" is not a hybrid logical clock reading like 019ab3c2d1e5-0000") }
        self.init(wallMilliseconds: wall, counter: count)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        do {
            try self.init(checked: text)
        } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.message)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.packed < rhs.packed }
}

/// A device's hybrid logical clock (Kulkarni et al., 2014) with a bound on how far a received reading may push it.
///
/// A peer whose wall clock runs days ahead must not drag every device's clock along: a received reading
/// more than ``maximumDrift`` ahead of local wall time is not observed at all (the clock stays near real time,
/// so the next local event is not stamped a day ahead either), and ``receive(_:wallMilliseconds:)`` reports it
/// so the event can be flagged. A store applies the same rule when it reads its clock back from the log.
public struct HybridClock: Sendable {
    /// How far ahead of local wall time a received reading may advance the clock: 24 hours.
    public static let defaultMaximumDrift: Int64 = 24 * 3_600_000

    /// The last reading issued or observed.
    public private(set) var last: HLC
    /// The drift bound in milliseconds.
    public let maximumDrift: Int64

    /// A clock that has seen nothing later than `last`.
    public init(last: HLC = HLC(wallMilliseconds: 0, counter: 0), maximumDrift: Int64 = defaultMaximumDrift) {
        self.last = last
        self.maximumDrift = maximumDrift
    }

    /// A new reading for a local event: later than every reading this clock has issued or observed.
    public mutating func tick(wallMilliseconds wall: Int64) -> HLC {
        if wall > last.wallMilliseconds {
            last = HLC(wallMilliseconds: wall, counter: 0)
        } else if last.counter == UInt16.max {
            last = HLC(wallMilliseconds: last.wallMilliseconds + 1, counter: 0)
        } else {
            last = HLC(wallMilliseconds: last.wallMilliseconds, counter: last.counter + 1)
        }
        return last
    }

    /// Observes a reading received from another device.
    /// - Returns: `true` when the reading was beyond the drift bound and was not observed (flag the event).
    @discardableResult
    public mutating func receive(_ remote: HLC, wallMilliseconds wall: Int64) -> Bool {
        guard !isBeyondBound(remote, wallMilliseconds: wall) else { return true }
        if remote > last { last = remote }
        return false
    }

    /// Whether `reading` lies more than ``maximumDrift`` ahead of the wall time `wall`.
    public func isBeyondBound(_ reading: HLC, wallMilliseconds wall: Int64) -> Bool {
        reading.wallMilliseconds > wall + maximumDrift
    }
}
