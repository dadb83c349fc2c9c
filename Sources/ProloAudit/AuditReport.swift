import Foundation
import ProloHTML
public import ProloDomain
public import ProloProjections
public import ProloStore

/// A self-contained HTML page an auditor can read offline: the course, a chart of NRS and ODI over time with
/// the injection sessions marked and side effects and alerts on the same axis, the timeline, and the
/// verification result with the chain heads it covered. No script, no network: inline CSS and SVG only.
public enum AuditReport {
    /// One point of the pain chart.
    public struct PainPoint: Sendable, Hashable {
        public let event: String
        public let time: Int64
        public let instrument: String  // "nrs" or "odi"
        public let score: Int
    }

    /// The pain readings of the timeline (exams and pain reports), retracted ones left out and amended ones
    /// shown as corrected.
    public static func painPoints(_ entries: [TimelineEntry], state: TreatmentState) -> [PainPoint] {
        let retracted = Set(state.retracted)
        // Amendments in canonical order; the last whose targetType is its target's type wins (as in the state).
        let types = Dictionary(entries.map { ($0.event.id, $0.event.type) }, uniquingKeysWith: { first, _ in first })
        var corrected: [EventID: JSONValue] = [:]
        for entry in entries where entry.event.type == .eventAmended && !retracted.contains(entry.event.id.text) {
            if let amended = try? entry.event.payload() as? EventAmended, types[amended.target] == amended.targetType {
                corrected[amended.target] = amended.payload
            }
        }
        var points: [PainPoint] = []
        for entry in entries where !retracted.contains(entry.event.id.text) {
            guard entry.event.type == .examRecorded || entry.event.type == .painReported else { continue }
            let payload = corrected[entry.event.id] ?? (try? JSONParser.parse(try entry.event.payloadBytes()))
            guard let payload else { continue }
            let time = entry.event.occurredAt.millisecondsSinceEpoch
            let id = entry.event.id.text
            if entry.event.type == .examRecorded {
                if case .int(let nrs)? = payload["painNRS"] { points.append(PainPoint(event: id, time: time, instrument: "nrs", score: Int(nrs))) }
                if case .int(let odi)? = payload["odi"] { points.append(PainPoint(event: id, time: time, instrument: "odi", score: Int(odi))) }
            } else if let instrument = payload["instrument"]?.stringValue, instrument == "nrs" || instrument == "odi",
                case .int(let score)? = payload["score"]
            {
                points.append(PainPoint(event: id, time: time, instrument: instrument, score: Int(score)))
            }
        }
        return points.sorted { ($0.time, $0.instrument) < ($1.time, $1.instrument) }
    }

    /// The page of `patient`, read from `projected` (the state, the timeline, and the verification of the whole
    /// history) for `accessor` and written to the access log.
    ///
    /// A patient of whom the store holds no event is an error (``StoreError/Code/eventNotFound``).
    public static func page(
        of patient: PatientID, in projected: ProjectedStore, for accessor: AuditAccessor,
        generatedAt: Timestamp = .now()
    ) throws(StoreError) -> AuditRead<String> {
        guard let state = try projected.state(of: patient) else {
            throw StoreError(.eventNotFound, "the store \(projected.store.path) holds no event of patient \(patient)")
        }
        let entries = try AuditTimeline.entries(of: patient, in: projected.store)
        let verification = try ChainVerifier.verify(projected.store)
        let page = html(
            patient: patient, state: state, entries: entries, verification: verification, generatedAt: generatedAt)
        let failure = accessor.log(to: projected.store, patient: patient.text, purpose: "audit-report")
        return AuditRead(page, from: projected.store, accessLogFailure: failure)
    }

    /// The page, from what was read.
    public static func html(
        patient: PatientID, state: TreatmentState, entries: [TimelineEntry], verification: VerificationReport,
        generatedAt: Timestamp
    ) -> String {
        let points = painPoints(entries, state: state)
        let injections = entries.filter { $0.event.type == .injectionAdministered && !state.retracted.contains($0.event.id.text) }
        var html = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>Prolo audit report: \(escape(patient.text))</title>
            <style>
            body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em}
            table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}
            th{background:#f2f2f2}.ok{color:#17632a;font-weight:600}.bad{color:#a11;font-weight:600}code{font-size:12px}
            svg text{font-size:11px}
            </style></head><body>
            <h1>Audit report — patient \(escape(patient.text))</h1>
            <p>Generated \(escape(generatedAt.text)) from a Prolo store. Times are UTC.</p>
            <h2>Course</h2>
            <table>
            """
        let rows: [(String, String)] = [
            ("Consent", state.consent.rawValue),
            ("Course", state.courseStatus.rawValue + (state.closingReason.map { " (\($0))" } ?? "")),
            ("Sessions", "\(state.sessionsCompleted) of \(state.sessionsPlanned.map(String.init) ?? "?")"),
            ("Last injection", state.lastInjectionAt.map(day) ?? "–"),
            ("Next due", state.nextDue.map { "\(day($0.from)) … \(day($0.to))" } ?? "–"),
            ("Pain NRS", "\(state.baselinePain.nrs.map(String.init) ?? "–") → \(state.latestPain.nrs.map(String.init) ?? "–")"),
            ("ODI", "\(state.baselinePain.odi.map(String.init) ?? "–") → \(state.latestPain.odi.map(String.init) ?? "–")"),
            ("Responder (≥ 50 % drop)", state.responder ? "yes" : "no"),
        ]
        for (name, value) in rows { html += "<tr><th>\(escape(name))</th><td>\(escape(value))</td></tr>\n" }
        html += "</table>\n<h2>Pain over time</h2>\n"
        html += chart(points: points, injections: injections, state: state)
        html += "<h2>Side effects and alerts</h2>\n<table><tr><th>kind</th><th>raised</th><th>by</th><th>cleared</th></tr>\n"
        for flag in state.alerts + state.reviewFlags {
            html += "<tr><td>\(escape(flag.kind))</td><td>\(escape(day(flag.raisedAt)))</td><td><code>\(escape(flag.raisedBy.joined(separator: ", ")))</code></td>"
            html += "<td>\(flag.clearedBy.map { "yes, <code>\(escape($0))</code>" } ?? "<span class=\"bad\">no</span>")</td></tr>\n"
        }
        for effect in state.openSideEffects {
            html += "<tr><td>open side effect: \(escape(effect.kinds.joined(separator: ", "))) (grade \(effect.grade))</td>"
            html += "<td>\(escape(day(effect.onset)))</td><td><code>\(escape(effect.event))</code></td><td>unresolved</td></tr>\n"
        }
        html += "</table>\n<h2>Timeline</h2>\n<table><tr><th>#</th><th>type</th><th>occurred</th><th>recorded</th><th>received here</th><th>author</th><th>device</th><th>corrections</th></tr>\n"
        for entry in entries {
            var corrections = entry.correctedBy.map { "corrected by <code>\(escape($0.text))</code>" }
            if let target = entry.corrects { corrections.append("corrects <code>\(escape(target.text))</code>") }
            html += "<tr><td>\(entry.seq)</td><td>\(escape(entry.event.type.rawValue))<br><code>\(escape(entry.event.id.text))</code></td>"
            html += "<td>\(escape(entry.event.occurredAt.text))</td><td>\(escape(entry.recordedAt.text))</td><td>\(escape(entry.receivedAt.text))</td>"
            html += "<td>\(escape(entry.event.author.id.text)) (\(escape(entry.event.author.role.rawValue)))</td>"
            html += "<td>\(escape(entry.device ?? entry.event.origin.text))</td><td>\(corrections.joined(separator: "<br>"))</td></tr>\n"
        }
        html += "</table>\n<h2>Verification</h2>\n"
        if let problem = verification.firstProblem {
            html += "<p class=\"bad\">The history does NOT verify: \(escape(problem.description))</p>\n"
        } else {
            html += "<p class=\"ok\">Verified: \(verification.eventsChecked) events, every chain gapless and linked, every hash and signature valid, enrollments chained to the clinic root.</p>\n"
        }
        html += "<table><tr><th>origin</th><th>device</th><th>head originSeq</th><th>head hash</th></tr>\n"
        for head in verification.heads {
            html += "<tr><td><code>\(escape(head.origin))</code></td><td>\(escape(head.device ?? "–"))</td><td>\(head.originSeq)</td><td><code>\(escape(head.hash))</code></td></tr>\n"
        }
        html += "</table>\n</body></html>\n"
        return html
    }

    /// An inline SVG: NRS on the left axis (0–10), ODI on the right (0–100), injections as vertical lines,
    /// side effects and alerts as markers on the same time axis. One circle per pain score.
    static func chart(points: [PainPoint], injections: [TimelineEntry], state: TreatmentState) -> String {
        let width = 860.0, height = 320.0, left = 50.0, right = 50.0, top = 20.0, bottom = 40.0
        var times = points.map(\.time) + injections.map { $0.event.occurredAt.millisecondsSinceEpoch }
        times += state.alerts.map(\.raisedAt) + state.openSideEffects.map(\.onset)
        guard let first = times.min(), let last = times.max() else { return "<p>No pain scores or sessions yet.</p>\n" }
        let span = Double(max(last - first, 86_400_000))
        func x(_ time: Int64) -> Double { left + (Double(time - first) / span) * (width - left - right) }
        func y(_ fraction: Double) -> Double { top + (1 - fraction) * (height - top - bottom) }
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" role=\"img\" aria-label=\"Pain over time\">\n"
        svg += "<rect x=\"\(left)\" y=\"\(top)\" width=\"\(width - left - right)\" height=\"\(height - top - bottom)\" fill=\"#fafafa\" stroke=\"#bbb\"/>\n"
        for tick in stride(from: 0, through: 10, by: 2) {
            let position = y(Double(tick) / 10)
            svg += "<text x=\"\(left - 8)\" y=\"\(position + 4)\" text-anchor=\"end\" fill=\"#1f5fbf\">\(tick)</text>"
            svg += "<text x=\"\(width - right + 8)\" y=\"\(position + 4)\" fill=\"#b5651d\">\(tick * 10)</text>\n"
        }
        svg += "<text x=\"\(left)\" y=\"\(height - 8)\">\(escape(day(first)))</text><text x=\"\(width - right)\" y=\"\(height - 8)\" text-anchor=\"end\">\(escape(day(last)))</text>\n"
        svg += "<text x=\"12\" y=\"14\" fill=\"#1f5fbf\">NRS</text><text x=\"\(width - 40)\" y=\"14\" fill=\"#b5651d\">ODI</text>\n"
        for (number, injection) in injections.enumerated() {
            let position = x(injection.event.occurredAt.millisecondsSinceEpoch)
            svg += "<line class=\"injection\" x1=\"\(position)\" x2=\"\(position)\" y1=\"\(top)\" y2=\"\(height - bottom)\" stroke=\"#2a9d4b\" stroke-dasharray=\"4 3\"><title>injection \(number + 1), \(escape(injection.event.occurredAt.text))</title></line>\n"
        }
        for instrument in ["nrs", "odi"] {
            let series = points.filter { $0.instrument == instrument }
            let scale = instrument == "nrs" ? 10.0 : 100.0
            let color = instrument == "nrs" ? "#1f5fbf" : "#b5651d"
            if series.count > 1 {
                let path = series.map { "\(x($0.time)),\(y(Double($0.score) / scale))" }.joined(separator: " ")
                svg += "<polyline fill=\"none\" stroke=\"\(color)\" points=\"\(path)\"/>\n"
            }
            for point in series {
                svg += "<circle class=\"pain-point \(instrument)\" cx=\"\(x(point.time))\" cy=\"\(y(Double(point.score) / scale))\" r=\"4\" fill=\"\(color)\"><title>\(instrument.uppercased()) \(point.score), \(escape(day(point.time)))</title></circle>\n"
            }
        }
        for effect in state.openSideEffects {
            let position = x(effect.onset)
            svg += "<path class=\"side-effect\" d=\"M\(position) \(height - bottom - 12) l6 10 h-12 z\" fill=\"#d08c00\"><title>side effect grade \(effect.grade): \(escape(effect.kinds.joined(separator: ", ")))</title></path>\n"
        }
        for flag in state.alerts {
            let position = x(flag.raisedAt)
            svg += "<circle class=\"alert\" cx=\"\(position)\" cy=\"\(top + 8)\" r=\"6\" fill=\"\(flag.cleared ? "#999" : "#c0392b")\"><title>alert \(escape(flag.kind))\(flag.cleared ? " (cleared)" : "")</title></circle>\n"
        }
        svg += "</svg>\n"
        return svg
    }

    static func day(_ milliseconds: Int64) -> String {
        String(Timestamp(millisecondsSinceEpoch: milliseconds).text.prefix(10))
    }

    static func escape(_ text: String) -> String { HTML.escape(text) }
}
