import ProloDomain
public import ProloHTML

extension HTML {
    /// Appends `<time>` showing `milliseconds` in the clinic's zone (a day, or a day and a minute), with the
    /// RFC 3339 UTC time as its `datetime` and the UTC time in its `title` (shown on hover).
    public mutating func time(_ milliseconds: Int64, _ clock: ClinicClock, dayOnly: Bool = false) {
        let shown = dayOnly ? clock.day(milliseconds) : clock.minute(milliseconds)
        element(
            "time",
            [
                ("datetime", Timestamp(millisecondsSinceEpoch: milliseconds).text),
                ("title", ClinicClock.utcMinute(milliseconds)),
            ],
            text: shown)
    }
}
