public import Foundation
public import ProloDomain

/// The clinic's wall clock: times shown to people in the clinic's time zone (`prolo serve --time-zone`), days
/// counted from the clinic's midnight, with the UTC time kept beside every shown time.
public struct ClinicClock: Sendable {
    /// The zone times are shown in.
    public let timeZone: TimeZone

    /// A clock for `timeZone` (UTC by default).
    public init(timeZone: TimeZone = TimeZone(secondsFromGMT: 0) ?? .current) {
        self.timeZone = timeZone
    }

    /// A clock for an IANA zone name (`Europe/Oslo`, `UTC`); `nil` when the name is not a zone this machine knows.
    public init?(identifier: String) {
        guard let zone = TimeZone(identifier: identifier) else { return nil }
        self.init(timeZone: zone)
    }

    /// The zone's name, as given (`Europe/Oslo`).
    public var zoneName: String { timeZone.identifier }

    /// `YYYY-MM-DD` of the clinic's day at `milliseconds`.
    public func day(_ milliseconds: Int64) -> String {
        let local = localSeconds(milliseconds)
        return Self.civil(days: Self.floorDivide(local, 86_400))
    }

    /// `YYYY-MM-DD HH:MM` in the clinic's zone.
    public func minute(_ milliseconds: Int64) -> String {
        let local = localSeconds(milliseconds)
        let days = Self.floorDivide(local, 86_400)
        let seconds = local - days * 86_400
        return Self.civil(days: days) + " " + Self.twoDigits(seconds / 3600) + ":" + Self.twoDigits(seconds % 3600 / 60)
    }

    /// `YYYY-MM-DD HH:MM UTC`, for the `title` a browser shows on hover.
    public static func utcMinute(_ milliseconds: Int64) -> String {
        let seconds = floorDivide(milliseconds, 1000)
        let days = floorDivide(seconds, 86_400)
        let rest = seconds - days * 86_400
        return civil(days: days) + " " + twoDigits(rest / 3600) + ":" + twoDigits(rest % 3600 / 60) + " UTC"
    }

    private func localSeconds(_ milliseconds: Int64) -> Int64 {
        let seconds = Self.floorDivide(milliseconds, 1000)
        let offset = timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(seconds)))
        return seconds + Int64(offset)
    }

    private static func floorDivide(_ value: Int64, _ divisor: Int64) -> Int64 {
        value >= 0 ? value / divisor : (value - divisor + 1) / divisor
    }

    private static func twoDigits(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }

    /// `YYYY-MM-DD` of a day count since 1970-01-01.
    private static func civil(days: Int64) -> String {
        let (year, month, day) = CalendarDay.civil(fromDays: days)
        let yearText = String(year)
        let padded = yearText.count < 4 ? String(repeating: "0", count: 4 - yearText.count) + yearText : yearText
        return padded + "-" + twoDigits(Int64(month)) + "-" + twoDigits(Int64(day))
    }
}
