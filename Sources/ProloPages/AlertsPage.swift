public import ProloDomain
import ProloHTML
public import ProloProjections
public import ProloStore

/// Every open alert of the clinic, most severe first, with what raised it and whether it blocks the next
/// injection; review flags (merged facts that disagree, events held out of the read models) after them.
public enum AlertsPage {
    /// The open alerts, most severe first, and the type of each event that raised one.
    public struct Model: Sendable {
        public let alerts: [AlertRecord]
        /// Event id → event type, for the raising events this store holds.
        public let types: [String: String]

        /// A model from what was read.
        public init(alerts: [AlertRecord], types: [String: String]) {
            self.alerts = alerts
            self.types = types
        }
    }

    /// The open alerts and the types of their raising events, unlogged (the caller logs the page view).
    public static func read(from projected: ProjectedStore) throws(StoreError) -> Model {
        let alerts = try projected.openAlerts()
        var types: [String: String] = [:]
        for id in Set(alerts.flatMap(\.raisedBy)) {
            if let event = try? EventID(checked: id), let stored = try projected.store.event(id: event) {
                types[id] = stored.event.type.rawValue
            }
        }
        return Model(alerts: alerts, types: types)
    }

    /// The page for `alerts` (as `ProjectedStore.openAlerts()` returns them: most severe first), naming each raising
    /// event by its type from `types` (event id → type) where known.
    public static func html(
        alerts: [AlertRecord], types: [String: String] = [:], clock: ClinicClock, clinic: String?, viewer: PageViewer
    ) -> String {
        let safety = alerts.filter { !$0.isReviewFlag }
        let review = alerts.filter(\.isReviewFlag)
        return PageLayout.document(title: "Open alerts", clinic: clinic, viewer: viewer, current: .alerts, clock: clock)
        { html in
            html.element(
                "p",
                text: "\(safety.count) open alert\(safety.count == 1 ? "" : "s") and \(review.count) review "
                    + "flag\(review.count == 1 ? "" : "s"), most severe first. Open a patient to review and clear an alert."
            )
            for (title, records, label) in [("Alerts", safety, "alerts"), ("Review flags", review, "review")] {
                html.element("section", [("aria-labelledby", "h-\(label)")]) { section in
                    section.element("h2", [("id", "h-\(label)")], text: title)
                    guard !records.isEmpty else {
                        section.element("p", [("class", "muted")], text: "None open.")
                        return
                    }
                    PageLayout.table(
                        &section, label: title, headers: ["Severity", "Alert", "Patient", "Raised", "Raised by"]
                    ) { body in
                        for alert in records { row(&body, alert, types: types, clock: clock) }
                    }
                }
            }
        }
    }

    private static func row(_ html: inout HTML, _ alert: AlertRecord, types: [String: String], clock: ClinicClock) {
        html.element("tr", [("class", "alert-row"), ("data-kind", alert.kind)]) { row in
            row.element("td", text: alert.isReviewFlag ? "review" : "\(alert.severity)")
            row.element("td") { cell in
                cell.text(PageLayout.words(alert.kind))
                if AlertKind(rawValue: alert.kind)?.blocksNextInjection == true {
                    cell.text(" ")
                    cell.element("span", [("class", "badge danger")], text: "blocks the next injection")
                }
            }
            row.element("td") { cell in
                if alert.patient == "-" {
                    cell.text("no patient")
                } else {
                    cell.element("a", [("href", PageLayout.patientPath(alert.patient))], text: alert.patient)
                }
            }
            row.element("td") { cell in
                if let raised = try? Timestamp(checked: alert.raisedAt) {
                    cell.time(raised.millisecondsSinceEpoch, clock)
                } else {
                    cell.text(alert.raisedAt)
                }
            }
            row.element("td") { cell in
                for (index, event) in alert.raisedBy.enumerated() {
                    if index > 0 { cell.raw("<br>") }
                    if let type = types[event] { cell.text(type + " ") }
                    cell.element("code", text: event)
                }
            }
        }
    }
}
