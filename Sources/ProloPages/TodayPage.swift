public import ProloDomain
import ProloHTML
public import ProloProjections

/// The front desk's page: who is overdue, who is due today, and who comes in the next days, from the read
/// models (`ProjectedStore.due(within:)`), with days counted in the clinic's time zone.
public enum TodayPage {
    /// How many days ahead the page looks.
    public static let days = 14

    /// Where a patient falls on the page.
    public enum Group: String, Sendable, CaseIterable {
        /// The window's last day is before today.
        case overdue
        /// The window is open today.
        case today
        /// The window opens within the next ``TodayPage/days`` days.
        case upcoming
    }

    /// The group of `summary` on the clinic's day of `now`; `nil` when it has no next window.
    public static func group(of summary: PatientSummary, now: Timestamp, clock: ClinicClock) -> Group? {
        guard let to = summary.nextDueToMilliseconds,
            let from = summary.nextDueFrom.flatMap({ try? Timestamp(checked: $0) })
        else { return nil }
        let today = clock.day(now.millisecondsSinceEpoch)
        if clock.day(to) < today { return .overdue }
        if clock.day(from.millisecondsSinceEpoch) <= today { return .today }
        return .upcoming
    }

    /// The page for `due` (as `due(within: days, now:)` returns it).
    public static func html(
        due: [PatientSummary], now: Timestamp, clock: ClinicClock, clinic: String?, viewer: PageViewer
    ) -> String {
        let grouped = Dictionary(grouping: due) { group(of: $0, now: now, clock: clock) }
        return PageLayout.document(
            title: "Today and the next \(days) days", clinic: clinic, viewer: viewer, current: .today, clock: clock
        ) {
            html in
            html.element("p") { paragraph in
                paragraph.text("Today is ")
                paragraph.time(now.millisecondsSinceEpoch, clock, dayOnly: true)
                paragraph.text(
                    ". \(grouped[.overdue]?.count ?? 0) overdue, \(grouped[.today]?.count ?? 0) due today, "
                        + "\(grouped[.upcoming]?.count ?? 0) due in the next \(days) days.")
            }
            let sections: [(Group, String, String)] = [
                (.overdue, "Overdue", "No patient is overdue."),
                (.today, "Due today", "No patient's window is open today."),
                (.upcoming, "Due in the next \(days) days", "No window opens in the next \(days) days."),
            ]
            for (group, title, empty) in sections {
                html.element("section", [("aria-labelledby", "h-\(group.rawValue)")]) { section in
                    section.element("h2", [("id", "h-\(group.rawValue)")], text: title)
                    guard let rows = grouped[group], !rows.isEmpty else {
                        section.element("p", [("class", "muted")], text: empty)
                        return
                    }
                    table(&section, rows, group: group, title: title, clock: clock)
                }
            }
        }
    }

    private static func table(
        _ html: inout HTML, _ rows: [PatientSummary], group: Group, title: String, clock: ClinicClock
    ) {
        PageLayout.table(
            &html, label: title,
            headers: ["Patient", "Next session window", "Sessions", "Last injection", "Open alerts"]
        ) {
            body in
            for summary in rows {
                body.element("tr", [("class", "due-\(group.rawValue)")]) { row in
                    row.element("td") {
                        $0.element("a", [("href", PageLayout.patientPath(summary.patient))], text: summary.patient)
                        if group == .overdue {
                            $0.text(" ")
                            $0.element("span", [("class", "badge danger")], text: "overdue")
                        }
                    }
                    row.element("td") { cell in
                        if let from = summary.nextDueFrom.flatMap({ try? Timestamp(checked: $0) }),
                            let to = summary.nextDueToMilliseconds
                        {
                            cell.time(from.millisecondsSinceEpoch, clock, dayOnly: true)
                            cell.text(" to ")
                            cell.time(to, clock, dayOnly: true)
                        }
                    }
                    row.element(
                        "td", text: "\(summary.sessionsCompleted) of \(summary.sessionsPlanned.map(String.init) ?? "?")"
                    )
                    row.element("td") { cell in
                        if let last = summary.lastInjectionAt.flatMap({ try? Timestamp(checked: $0) }) {
                            cell.time(last.millisecondsSinceEpoch, clock, dayOnly: true)
                        } else {
                            cell.text("none yet")
                        }
                    }
                    row.element("td") { cell in
                        let open = summary.openAlerts + summary.openReviewFlags
                        if open == 0 {
                            cell.text("none")
                        } else {
                            cell.element(
                                "span", [("class", summary.openAlerts > 0 ? "badge danger" : "badge warn")],
                                text: "\(open) open")
                        }
                    }
                }
            }
        }
    }
}
