public import Foundation

/// An instant written as RFC 3339 in UTC (`2026-03-02T09:30:00Z`, fractions up to milliseconds).
///
/// The text is kept as written so canonical bytes never change; ``millisecondsSinceEpoch`` gives the
/// instant for arithmetic and ordering.
public struct Timestamp: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// The RFC 3339 text as written.
    public let text: String
    /// Milliseconds since 1970-01-01T00:00:00Z.
    public let millisecondsSinceEpoch: Int64

    /// Parses RFC 3339 UTC text; refuses offsets other than `Z`, impossible dates, and more than 3 fraction digits.
    public init(checked text: String) throws(PayloadError) {
        guard let milliseconds = Self.parse(text) else {
            throw PayloadError(path: "$", "\"\(text)\" is not an RFC 3339 UTC time like 2026-03-02T09:30:00Z")
        }
        self.text = text
        self.millisecondsSinceEpoch = milliseconds
    }

    /// The instant `milliseconds` after the epoch, written with millisecond precision.
    public init(millisecondsSinceEpoch milliseconds: Int64) {
        self.millisecondsSinceEpoch = milliseconds
        self.text = Self.format(milliseconds)
    }

    /// The instant of `date`, truncated to milliseconds.
    public init(_ date: Date) {
        self.init(millisecondsSinceEpoch: Int64((date.timeIntervalSince1970 * 1000).rounded(.down)))
    }

    /// The current time.
    public static func now() -> Timestamp { Timestamp(Date()) }

    /// The instant as a Foundation date.
    public var date: Date { Date(timeIntervalSince1970: Double(millisecondsSinceEpoch) / 1000) }

    /// The calendar day (UTC) of this instant.
    public var day: CalendarDay {
        let days = Int64((Double(millisecondsSinceEpoch) / 86_400_000).rounded(.down))
        let (year, month, day) = CalendarDay.civil(fromDays: days)
        return CalendarDay(year: year, month: month, day: day)
    }

    public var description: String { text }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let milliseconds = Self.parse(text) else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "\"\(text)\" is not an RFC 3339 UTC time like 2026-03-02T09:30:00Z")
        }
        self.text = text
        self.millisecondsSinceEpoch = milliseconds
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(text)
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.millisecondsSinceEpoch < rhs.millisecondsSinceEpoch }
    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.millisecondsSinceEpoch == rhs.millisecondsSinceEpoch }
    public func hash(into hasher: inout Hasher) { hasher.combine(millisecondsSinceEpoch) }

    static func parse(_ text: String) -> Int64? {
        // Native strings are contiguous UTF-8, so this reads the text in place (stored rows parse it on every read).
        if let milliseconds = text.utf8.withContiguousStorageIfAvailable({ parse(utf8: $0) }) { return milliseconds }
        return Array(text.utf8).withUnsafeBufferPointer { parse(utf8: $0) }
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.f{1,3}]Z`.
    private static func parse(utf8 bytes: UnsafeBufferPointer<UInt8>) -> Int64? {
        guard bytes.count >= 20, bytes.count <= 24, bytes[bytes.count - 1] == UInt8(ascii: "Z") else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for position in range {
                let byte = bytes[position]
                guard byte >= 0x30, byte <= 0x39 else { return nil }
                value = value * 10 + Int(byte - 0x30)
            }
            return value
        }
        guard bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"), bytes[10] == UInt8(ascii: "T"),
            bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":"),
            let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
            let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19),
            CalendarDay.isValid(year: year, month: month, day: day), hour < 24, minute < 60, second < 60
        else { return nil }
        var milliseconds = 0
        if bytes.count > 20 {
            guard bytes[19] == UInt8(ascii: "."), bytes.count >= 22, let fraction = number(20..<(bytes.count - 1))
            else { return nil }
            switch bytes.count - 21 {
            case 1: milliseconds = fraction * 100
            case 2: milliseconds = fraction * 10
            default: milliseconds = fraction
            }
        } else if bytes[19] != UInt8(ascii: "Z") {
            return nil
        }
        let days = CalendarDay.days(year: year, month: month, day: day)
        return ((days * 24 + Int64(hour)) * 60 + Int64(minute)) * 60_000 + Int64(second) * 1000 + Int64(milliseconds)
    }

    static func format(_ milliseconds: Int64) -> String {
        let days = Int64((Double(milliseconds) / 86_400_000).rounded(.down))
        let inDay = milliseconds - days * 86_400_000
        let (year, month, day) = CalendarDay.civil(fromDays: days)
        guard (0...9999).contains(year), (0..<86_400_000).contains(inDay) else {
            return formatPadded(year: year, month: month, day: day, inDay: inDay)
        }
        // The common case, written digit by digit: the store makes one for every row it reads (`received_at`).
        return String(unsafeUninitializedCapacity: 24) { text in
            func put(_ value: Int, width: Int, at offset: Int) {
                var rest = value
                for position in stride(from: offset + width - 1, through: offset, by: -1) {
                    text[position] = UInt8(ascii: "0") + UInt8(truncatingIfNeeded: rest % 10)
                    rest /= 10
                }
            }
            let inDay = Int(inDay)
            put(year, width: 4, at: 0)
            text[4] = UInt8(ascii: "-")
            put(month, width: 2, at: 5)
            text[7] = UInt8(ascii: "-")
            put(day, width: 2, at: 8)
            text[10] = UInt8(ascii: "T")
            put(inDay / 3_600_000, width: 2, at: 11)
            text[13] = UInt8(ascii: ":")
            put(inDay / 60_000 % 60, width: 2, at: 14)
            text[16] = UInt8(ascii: ":")
            put(inDay / 1000 % 60, width: 2, at: 17)
            text[19] = UInt8(ascii: ".")
            put(inDay % 1000, width: 3, at: 20)
            text[23] = UInt8(ascii: "Z")
            return 24
        }
    }

    /// The general formatter, for years outside 0–9999 (which ``init(checked:)`` would not accept back).
    private static func formatPadded(year: Int, month: Int, day: Int, inDay: Int64) -> String {
        func pad(_ value: Int64, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        let hour = inDay / 3_600_000, minute = inDay / 60_000 % 60, second = inDay / 1000 % 60, fraction = inDay % 1000
        return "\(pad(Int64(year), 4))-\(pad(Int64(month), 2))-\(pad(Int64(day), 2))T"
            + "\(pad(hour, 2)):\(pad(minute, 2)):\(pad(second, 2)).\(pad(fraction, 3))Z"
    }
}

/// A calendar date without time (`1971-04-12`), for birth dates and expiry dates.
public struct CalendarDay: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    public let year: Int
    public let month: Int
    public let day: Int

    /// Makes a date; `nil` components are programming errors, so use ``init(checked:)`` for input.
    public init(year: Int, month: Int, day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }

    /// Parses `YYYY-MM-DD`, refusing impossible dates such as 2026-02-30.
    public init(checked text: String) throws(PayloadError) {
        guard let parsed = Self.parse(text) else {
            throw PayloadError(path: "$", "\"\(text)\" is not a date like 1971-04-12")
        }
        self = parsed
    }

    public var description: String {
        func pad(_ value: Int, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))"
    }

    /// Days since 1970-01-01.
    public var daysSinceEpoch: Int64 { Self.days(year: year, month: month, day: day) }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let parsed = Self.parse(text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "\"\(text)\" is not a date like 1971-04-12")
        }
        self = parsed
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.daysSinceEpoch < rhs.daysSinceEpoch }

    static func parse(_ text: String) -> CalendarDay? {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard text.utf8.count == 10, parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
            parts.allSatisfy({ $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }),
            let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]),
            isValid(year: year, month: month, day: day)
        else { return nil }
        return CalendarDay(year: year, month: month, day: day)
    }

    static func isValid(year: Int, month: Int, day: Int) -> Bool {
        guard (1...9999).contains(year), (1...12).contains(month), day >= 1 else { return false }
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
        // A switch, not an array literal: this runs for every stored timestamp read and must not allocate.
        let length =
            switch month {
            case 2: leap ? 29 : 28
            case 4, 6, 9, 11: 30
            default: 31
            }
        return day <= length
    }

    /// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
    static func days(year: Int, month: Int, day: Int) -> Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let m = Int64(month)
        let dayOfYear = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + Int64(day) - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The date `days` after 1970-01-01 (`civil_from_days`); package access for the clinic pages' local days.
    package static func civil(fromDays days: Int64) -> (Int, Int, Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return (Int(year), Int(month), Int(day))
    }
}
