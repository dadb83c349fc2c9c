import Foundation
public import ProloAudit
public import ProloDomain
import ProloHTML
public import ProloProjections
public import ProloStore

/// One patient's course at a glance: consent and course, sessions done and the next window, pain and ODI against
/// baseline, side effects, alerts (with a form to clear each, for a clinic token), and the whole timeline with
/// corrections shown against the events they correct.
public enum PatientPage {
    /// What the page shows, read from the store.
    public struct Model: Sendable {
        /// The treatment state, from the read models.
        public let state: TreatmentState
        /// Every event of the patient in canonical order.
        public let entries: [TimelineEntry]

        /// A model from what was read.
        public init(state: TreatmentState, entries: [TimelineEntry]) {
            self.state = state
            self.entries = entries
        }
    }

    /// What the page reports after a decision.
    public enum Notice: Sendable, Hashable {
        /// An alert was cleared by the `alert.cleared` event `event`.
        case cleared(event: String)
        /// A decision was refused, in words.
        case refused(String)
    }

    /// The state and timeline of `patient`, unlogged (the caller logs the page view); `nil` when the store holds
    /// no event of theirs.
    public static func read(_ patient: PatientID, from projected: ProjectedStore) throws(StoreError) -> Model? {
        guard let state = try projected.state(of: patient) else { return nil }
        return Model(state: state, entries: try AuditTimeline.entries(of: patient, in: projected.store))
    }

    /// The model from what was read of any backend: the patient's state, their events, and the registry that names
    /// the devices.
    public static func model(state: TreatmentState, events: [StoredEvent], registry: DeviceRegistry) -> Model {
        Model(state: state, entries: AuditTimeline.entries(of: events, registry: registry))
    }

    /// The page.
    public static func html(
        _ model: Model, notice: Notice? = nil, now: Timestamp, clock: ClinicClock, clinic: String?, viewer: PageViewer
    ) -> String {
        let state = model.state
        let types = Dictionary(model.entries.map { ($0.event.id.text, $0) }, uniquingKeysWith: { first, _ in first })
        return PageLayout.document(
            title: "Patient \(state.patient.text)", clinic: clinic, viewer: viewer, current: .patient, clock: clock
        ) { html in
            if let notice { self.notice(&html, notice, state: state) }
            blocked(&html, state: state, clock: clock)
            course(&html, state: state, now: now, clock: clock)
            pain(&html, model, clock: clock)
            sideEffects(&html, state: state, clock: clock)
            alerts(&html, state: state, entries: types, clock: clock, viewer: viewer)
            timeline(&html, model, clock: clock)
        }
    }

    private static func notice(_ html: inout HTML, _ notice: Notice, state: TreatmentState) {
        switch notice {
        case .cleared(let event):
            guard let flag = (state.alerts + state.reviewFlags).first(where: { $0.clearedBy == event }) else {
                html.element("div", [("class", "notice warn"), ("role", "status"), ("id", "result")]) {
                    $0.element("p", text: "Event \(event) cleared no alert of this patient.")
                }
                return
            }
            html.element("div", [("class", "notice ok"), ("role", "status"), ("id", "result")]) { box in
                box.element("p") { paragraph in
                    paragraph.element("strong", text: "Cleared: \(PageLayout.words(flag.kind)).")
                    paragraph.text(" Recorded as alert.cleared ")
                    paragraph.element("code", text: event)
                    paragraph.text(", signed by this server's device.")
                }
                if state.blockingAlerts.isEmpty {
                    box.element("p", text: "No open alert blocks the next injection.")
                }
            }
        case .refused(let message):
            html.element("div", [("class", "notice danger"), ("role", "alert"), ("id", "result")]) { box in
                box.element("p") {
                    $0.element("strong", text: "Not cleared. ")
                    $0.text(message)
                }
            }
        }
    }

    /// The sentence a clinician must not miss: which open red flags block the next injection.
    private static func blocked(_ html: inout HTML, state: TreatmentState, clock: ClinicClock) {
        let blocking = state.blockingAlerts
        guard !blocking.isEmpty else { return }
        html.element("div", [("class", "notice danger"), ("id", "blocked")]) { box in
            box.element("p") { paragraph in
                paragraph.element("strong", text: "The next injection is blocked. ")
                let kinds = blocking.map { PageLayout.words($0.kind).lowercased() }
                paragraph.text(
                    "Open red flag\(blocking.count == 1 ? "" : "s"): \(kinds.joined(separator: ", ")). "
                        + "A clinician must review and clear \(blocking.count == 1 ? "it" : "them") (Alerts, below) before "
                        + "another injection; an injection given now raises injection-while-red-flag.")
            }
        }
    }

    private static func course(_ html: inout HTML, state: TreatmentState, now: Timestamp, clock: ClinicClock) {
        html.element("h2", [("id", "course")], text: "Consent and course")
        html.element(
            "div", [("class", "scroll"), ("role", "region"), ("aria-labelledby", "course"), ("tabindex", "0")]
        ) {
            region in
            region.element("table") { table in
                func row(_ name: String, _ value: (inout HTML) -> Void) {
                    table.element("tr") {
                        $0.element("th", [("scope", "row")], text: name)
                        $0.element("td", [], value)
                    }
                }
                row("Consent") { cell in
                    switch state.consent {
                    case .given: cell.element("span", [("class", "badge ok")], text: "given")
                    case .withdrawn: cell.element("span", [("class", "badge danger")], text: "withdrawn")
                    case .none: cell.element("span", [("class", "badge danger")], text: "none recorded")
                    }
                }
                row("Course") { $0.text(state.courseStatus.rawValue + (state.closingReason.map { " (\($0))" } ?? "")) }
                row("Sessions done") {
                    $0.text("\(state.sessionsCompleted) of \(state.sessionsPlanned.map(String.init) ?? "?") planned")
                    if state.injectionsTotal != state.sessionsCompleted {
                        $0.text("; \(state.injectionsTotal) in every course")
                    }
                }
                row("Injections") { cell in
                    guard let firstAt = state.firstInjectionAt, let lastAt = state.lastInjectionAt else {
                        cell.text("none yet")
                        return
                    }
                    cell.text("first ")
                    cell.time(firstAt, clock, dayOnly: true)
                    cell.text(", last ")
                    cell.time(lastAt, clock, dayOnly: true)
                }
                row("Next session window") { cell in
                    guard let window = state.nextDue else {
                        cell.text(state.courseStatus == .active ? "no session remains" : "no active course")
                        return
                    }
                    cell.time(window.from, clock, dayOnly: true)
                    cell.text(" to ")
                    cell.time(window.to, clock, dayOnly: true)
                    if clock.day(window.to) < clock.day(now.millisecondsSinceEpoch) {
                        cell.text(" ")
                        cell.element("span", [("class", "badge danger")], text: "overdue")
                    }
                }
                row("Sessions booked") { cell in
                    if state.upcomingAppointments.isEmpty { cell.text("none") }
                    for (index, appointment) in state.upcomingAppointments.sorted().enumerated() {
                        if index > 0 { cell.text(", ") }
                        cell.time(appointment, clock)
                    }
                }
                if !state.adjunctTherapies.isEmpty {
                    row("Adjunct therapies") {
                        $0.text(
                            state.adjunctTherapies.sorted { $0.key < $1.key }.map { "\($0.key) ×\($0.value)" }.joined(
                                separator: ", "))
                    }
                }
            }
        }
    }

    private static func pain(_ html: inout HTML, _ model: Model, clock: ClinicClock) {
        let state = model.state
        html.element("h2", [("id", "pain")], text: "Pain and disability against baseline")
        func change(_ name: String, _ baseline: Int?, _ latest: Int?, _ percent: Double?) -> String {
            var text = "\(name): \(baseline.map(String.init) ?? "–") at baseline, \(latest.map(String.init) ?? "–") now"
            if let percent { text += " (\(Int(percent.rounded())) % better)" }
            return text
        }
        html.element("p") { paragraph in
            paragraph.text(
                change("NRS", state.baselinePain.nrs, state.latestPain.nrs, state.improvementPercent.nrs) + "; ")
            paragraph.text(
                change("ODI", state.baselinePain.odi, state.latestPain.odi, state.improvementPercent.odi) + ". ")
            paragraph.element(
                "span", [("class", state.responder ? "badge ok" : "badge warn")],
                text: state.responder ? "responder" : "not yet a responder")
        }
        let points = AuditReport.painPoints(model.entries, state: state)
        let retracted = Set(state.retracted)
        let injections = model.entries.filter {
            $0.event.type == .injectionAdministered && !retracted.contains($0.event.id.text)
        }
        .map(\.event.occurredAt.millisecondsSinceEpoch)
        PainChart.svg(&html, points: points, injections: injections, state: state, clock: clock)
        guard !points.isEmpty else { return }
        PageLayout.table(&html, label: "Pain readings", headers: ["When", "Scale", "Score", "Against baseline"]) {
            body in
            for point in points {
                let baseline = point.instrument == "nrs" ? state.baselinePain.nrs : state.baselinePain.odi
                body.element("tr") { row in
                    row.element("td") { $0.time(point.time, clock) }
                    row.element("td", text: point.instrument.uppercased())
                    row.element("td", text: "\(point.score)")
                    row.element(
                        "td",
                        text: baseline.map { $0 == point.score ? "same" : String(format: "%+d", point.score - $0) }
                            ?? "–")
                }
            }
        }
    }

    private static func sideEffects(_ html: inout HTML, state: TreatmentState, clock: ClinicClock) {
        html.element("h2", [("id", "side-effects")], text: "Open side effects")
        guard !state.openSideEffects.isEmpty else {
            html.element("p", [("class", "muted")], text: "None unresolved.")
            return
        }
        PageLayout.table(
            &html, label: "Open side effects", headers: ["Onset", "What", "Grade", "Temperature", "After injection"]
        ) { body in
            for effect in state.openSideEffects {
                body.element("tr") { row in
                    row.element("td") { $0.time(effect.onset, clock) }
                    row.element("td", text: effect.kinds.joined(separator: ", "))
                    row.element("td", text: "\(effect.grade)")
                    row.element("td", text: effect.temperatureC.map { String(format: "%.1f °C", $0) } ?? "–")
                    row.element("td", text: effect.daysSinceInjection.map { "\($0) day\($0 == 1 ? "" : "s")" } ?? "–")
                }
            }
        }
    }

    private static func alerts(
        _ html: inout HTML, state: TreatmentState, entries: [String: TimelineEntry], clock: ClinicClock,
        viewer: PageViewer
    ) {
        html.element("h2", [("id", "alerts")], text: "Alerts and review flags")
        let flags = state.alerts.map { ($0, false) } + state.reviewFlags.map { ($0, true) }
        guard !flags.isEmpty else {
            html.element("p", [("class", "muted")], text: "No alert was ever raised.")
            return
        }
        let ordered = flags.sorted { ($0.0.cleared ? 1 : 0, $0.0.raisedAt) < ($1.0.cleared ? 1 : 0, $1.0.raisedAt) }
        for (index, (flag, isReview)) in ordered.enumerated() {
            html.element(
                "section",
                [("class", "alert \(flag.cleared ? "cleared" : "open")"), ("aria-labelledby", "alert-\(index)")]
            ) {
                section in
                section.element("h3", [("id", "alert-\(index)")]) { heading in
                    heading.text(PageLayout.words(flag.kind) + (isReview ? " (review flag)" : "") + " ")
                    if flag.cleared {
                        heading.element("span", [("class", "badge ok")], text: "cleared")
                    } else if AlertKind(rawValue: flag.kind)?.blocksNextInjection == true {
                        heading.element("span", [("class", "badge danger")], text: "open, blocks the next injection")
                    } else {
                        heading.element("span", [("class", "badge warn")], text: "open")
                    }
                }
                section.element("p") { paragraph in
                    paragraph.text("Raised ")
                    paragraph.time(flag.raisedAt, clock)
                    paragraph.text(" by ")
                    for (position, id) in flag.raisedBy.enumerated() {
                        if position > 0 { paragraph.text(", ") }
                        let type = entries[id]?.event.type.rawValue ?? "event"
                        paragraph.element("a", [("href", "#e-\(id)")], text: "\(type) \(id.prefix(8))…")
                    }
                    if let clearedBy = flag.clearedBy {
                        paragraph.text("; cleared by ")
                        paragraph.element(
                            "a", [("href", "#e-\(clearedBy)")], text: "alert.cleared \(clearedBy.prefix(8))…")
                    }
                    paragraph.text(".")
                }
                if !flag.cleared, viewer.mayRecord, !isReview || AlertKind(rawValue: flag.kind) != nil {
                    clearForm(&section, flag: flag, index: index, patient: state.patient.text, viewer: viewer)
                }
            }
        }
    }

    private static func clearForm(
        _ html: inout HTML, flag: TreatmentState.Flag, index: Int, patient: String, viewer: PageViewer
    ) {
        html.element(
            "form",
            [("class", "clear"), ("method", "post"), ("action", PageLayout.patientPath(patient) + "/clear-alert")]
        ) { form in
            PageLayout.csrfField(&form, viewer)
            form.void("input", [("type", "hidden"), ("name", "kind"), ("value", flag.kind)])
            form.void(
                "input", [("type", "hidden"), ("name", "raisedBy"), ("value", flag.raisedBy.joined(separator: " "))])
            form.element("label", [("for", "clinician-\(index)")], text: "Clinician id (who reviewed it)")
            form.void(
                "input",
                [
                    ("type", "text"), ("id", "clinician-\(index)"), ("name", "clinician"), ("required", ""),
                    ("autocomplete", "off"),
                    ("maxlength", "64"),
                ])
            form.element(
                "label", [("for", "reason-\(index)")], text: "Why it is safe to clear (findings of the review)")
            form.element(
                "textarea", [("id", "reason-\(index)"), ("name", "reason"), ("required", ""), ("maxlength", "4000")],
                text: "")
            form.element("button", [("type", "submit")], text: "Clear \(PageLayout.words(flag.kind).lowercased())")
        }
    }

    private static func timeline(_ html: inout HTML, _ model: Model, clock: ClinicClock) {
        let retracted = Set(model.state.retracted)
        html.element("h2", [("id", "timeline")], text: "Timeline (\(model.entries.count) events)")
        html.element(
            "p", [("class", "muted")],
            text: "Every event in clinical order. Corrections stay visible: a retracted event is struck through, an "
                + "amended one is marked, and each correction names the event it corrects.")
        PageLayout.table(&html, label: "Timeline", headers: ["Occurred", "Event", "Author", "Device", "Corrections"]) {
            body in
            for entry in model.entries {
                let id = entry.event.id.text
                let kind = retracted.contains(id) ? "retracted" : entry.correctedBy.isEmpty ? nil : "amended"
                body.element("tr", [("id", "e-\(id)"), ("class", kind)]) { row in
                    row.element("td") { $0.time(entry.event.occurredAt.millisecondsSinceEpoch, clock) }
                    row.element("td") { cell in
                        cell.text(entry.event.type.rawValue + " ")
                        cell.element("code", text: id)
                    }
                    row.element("td", text: "\(entry.event.author.id.text) (\(entry.event.author.role.rawValue))")
                    row.element("td", text: entry.device ?? entry.event.origin.text)
                    row.element("td", [("class", "correction")]) { cell in
                        if let kind {
                            cell.element("span", [("class", "badge warn")], text: kind)
                            cell.text(" by ")
                        }
                        for (position, correction) in entry.correctedBy.enumerated() {
                            if position > 0 { cell.text(", ") }
                            cell.element(
                                "a", [("href", "#e-\(correction.text)")], text: correction.text.prefix(8) + "…")
                        }
                        if let target = entry.corrects {
                            cell.text("corrects ")
                            cell.element("a", [("href", "#e-\(target.text)")], text: target.text.prefix(8) + "…")
                        }
                    }
                }
            }
        }
    }
}
