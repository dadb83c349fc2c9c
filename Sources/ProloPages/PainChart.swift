import ProloAudit
import ProloHTML
import ProloProjections

/// The patient page's chart: NRS (0–10, left axis) and ODI (0–100, right axis) over time against their baselines
/// (dashed), injections as vertical lines, as inline SVG that scales to the page's width and prints on A4.
///
/// The same readings follow in a table (``PatientPage``), so nothing is only in the picture.
enum PainChart {
    static let nrsColor = "#0a4b91"
    static let odiColor = "#8a4b00"
    static let injectionColor = "#245c2a"

    /// The SVG, or a sentence when there is nothing to draw.
    static func svg(
        _ html: inout HTML, points: [AuditReport.PainPoint], injections: [Int64], state: TreatmentState,
        clock: ClinicClock
    ) {
        let times = points.map(\.time) + injections
        guard let first = times.min(), let last = times.max() else {
            html.element("p", [("class", "muted")], text: "No pain scores or injections yet.")
            return
        }
        let width = 860.0
        let height = 300.0
        let left = 44.0
        let right = 48.0
        let top = 16.0
        let bottom = 36.0
        let span = Double(max(last - first, 86_400_000))
        func x(_ time: Int64) -> Double { (left + Double(time - first) / span * (width - left - right)).rounded() }
        func y(_ fraction: Double) -> Double { (top + (1 - fraction) * (height - top - bottom)).rounded() }
        let description = summary(state: state, injections: injections.count)
        html.raw(
            "<svg class=\"chart\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" width=\"\(Int(width))\" height=\"\(Int(height))\" "
                + "role=\"img\" aria-labelledby=\"chart-title chart-desc\" xmlns=\"http://www.w3.org/2000/svg\" "
                + "font-family=\"system-ui,sans-serif\" font-size=\"12\">")
        html.element(
            "title", [("id", "chart-title")], text: "Pain (NRS) and disability (ODI) over time against baseline")
        html.element("desc", [("id", "chart-desc")], text: description)
        html.raw(
            "<rect x=\"\(left)\" y=\"\(top)\" width=\"\(width - left - right)\" height=\"\(height - top - bottom)\" fill=\"#fff\" stroke=\"#5d6b78\"/>"
        )
        for tick in stride(from: 0, through: 10, by: 2) {
            let position = y(Double(tick) / 10)
            html.raw(
                "<line x1=\"\(left)\" x2=\"\(width - right)\" y1=\"\(position)\" y2=\"\(position)\" stroke=\"#e3e8ee\"/>"
            )
            html.raw(
                "<text x=\"\(left - 6)\" y=\"\(position + 4)\" text-anchor=\"end\" fill=\"\(nrsColor)\">\(tick)</text>")
            html.raw("<text x=\"\(width - right + 6)\" y=\"\(position + 4)\" fill=\"\(odiColor)\">\(tick * 10)</text>")
        }
        html.raw("<text x=\"\(left)\" y=\"\(height - 10)\" fill=\"#1b1b1b\">\(HTML.escape(clock.day(first)))</text>")
        html.raw(
            "<text x=\"\(width - right)\" y=\"\(height - 10)\" text-anchor=\"end\" fill=\"#1b1b1b\">\(HTML.escape(clock.day(last)))</text>"
        )
        for injection in injections {
            let position = x(injection)
            html.raw(
                "<line class=\"injection\" x1=\"\(position)\" x2=\"\(position)\" y1=\"\(top)\" y2=\"\(height - bottom)\" "
                    + "stroke=\"\(injectionColor)\" stroke-width=\"2\" stroke-dasharray=\"2 3\"/>")
        }
        let baselines: [(String, Int?, Double, String)] = [
            ("nrs", state.baselinePain.nrs, 10, nrsColor), ("odi", state.baselinePain.odi, 100, odiColor),
        ]
        for (instrument, baseline, scale, color) in baselines {
            if let baseline {
                let position = y(Double(baseline) / scale)
                html.raw(
                    "<line class=\"baseline \(instrument)\" x1=\"\(left)\" x2=\"\(width - right)\" y1=\"\(position)\" "
                        + "y2=\"\(position)\" stroke=\"\(color)\" stroke-dasharray=\"8 5\"/>")
            }
            let series = points.filter { $0.instrument == instrument }
            if series.count > 1 {
                let path = series.map { "\(x($0.time)),\(y(Double($0.score) / scale))" }.joined(separator: " ")
                html.raw("<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\" points=\"\(path)\"/>")
            }
            for point in series {
                let cx = x(point.time)
                let cy = y(Double(point.score) / scale)
                // NRS as circles, ODI as squares: told apart without colour.
                if instrument == "nrs" {
                    html.raw("<circle class=\"pain-point nrs\" cx=\"\(cx)\" cy=\"\(cy)\" r=\"5\" fill=\"\(color)\"/>")
                } else {
                    html.raw(
                        "<rect class=\"pain-point odi\" x=\"\(cx - 5)\" y=\"\(cy - 5)\" width=\"10\" height=\"10\" fill=\"\(color)\"/>"
                    )
                }
            }
        }
        html.raw("</svg>")
        html.element("ul", [("class", "legend")]) { legend in
            legend.element("li", text: "● NRS pain 0–10 (left axis), dashed: baseline")
            legend.element("li", text: "■ ODI disability 0–100 (right axis), dashed: baseline")
            legend.element("li", text: "┆ green: an injection session")
        }
    }

    /// The chart in one sentence, for a screen reader.
    static func summary(state: TreatmentState, injections: Int) -> String {
        func change(_ name: String, _ baseline: Int?, _ latest: Int?) -> String {
            guard let baseline else { return "no \(name) baseline" }
            return "\(name) \(baseline) at baseline, \(latest.map(String.init) ?? "no reading") now"
        }
        return change("NRS", state.baselinePain.nrs, state.latestPain.nrs) + "; "
            + change("ODI", state.baselinePain.odi, state.latestPain.odi) + "; \(injections) injection"
            + (injections == 1 ? "" : "s") + "."
    }
}
