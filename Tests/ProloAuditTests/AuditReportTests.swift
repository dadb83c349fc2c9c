import Foundation
import ProloAudit
import ProloDomain
import ProloProjections
import ProloStore
import ProloSync
import ProloTestSupport
import Testing

/// A patient with two exams, pain reports (one amended, one retracted, one on an instrument the chart does not
/// draw), two injections and a fever after the first (an open side effect raising alerts), and the report
/// `prolo audit report` wrote for them.
private struct ReportStory {
    let clinic: ClinicFixture
    let patient: PatientID = "p-report"
    let reportPath: String
    let html: String
    /// The pain scores the chart must draw, as (instrument, score).
    let expectedScores: [String: [Int]] = ["nrs": [7, 4, 3], "odi": [42, 35, 20]]
    let amendedPain: EventID
    let retractedPain: EventID

    init(in directory: TemporaryDirectory) throws {
        clinic = try ClinicFixture(in: directory)
        let root = clinic.root
        let patient = self.patient
        let start = Timestamp.now().millisecondsSinceEpoch - 40 * AuditStory.day
        func day(_ offset: Int64) -> Timestamp { AuditStory.at(start + offset * AuditStory.day) }
        let events = try root.store.record(
            [
                try AuditStory.consent(patient, at: day(0)),
                try AuditStory.exam(patient, nrs: 7, odi: 42, at: day(0)),
                try AuditStory.course(patient, at: day(0)),
                try AuditStory.injection(patient, at: day(1)),
            ], signedBy: root.key)
        let injection = events[3].event.id
        try root.store.record(
            [
                try AuditStory.fever(patient, after: injection, onset: day(2)),
                try AuditStory.pain(patient, score: 6, at: day(8)),
                try AuditStory.pain(patient, .odi, score: 35, at: day(9)),
                try AuditStory.pain(patient, score: 9, at: day(10)),
                try AuditStory.pain(patient, .vas, score: 40, at: day(11)),
                try AuditStory.injection(patient, at: day(16)),
                try AuditStory.exam(patient, nrs: 3, odi: 20, at: day(30)),
            ], signedBy: root.key)
        let pains = try root.store.events(EventFilter(patient: patient, type: .painReported))
        amendedPain = pains[0].event.id
        retractedPain = pains[2].event.id
        try root.store.record(
            [
                try AuditStory.amendPain(amendedPain, patient, to: 4, at: .now()),
                try AuditStory.retract(retractedPain, patient, at: .now()),
            ], signedBy: root.key)

        reportPath = directory.file("report.html")
        let result = try CommandRunner.prolo([
            "audit", "report", "--store", root.store.path, "--patient", patient.text, "--out", reportPath,
        ])
        guard result.status == 0 else {
            throw AuditTestError("prolo audit report failed (\(result.status)): \(result.stderr)")
        }
        html = try String(contentsOfFile: reportPath, encoding: .utf8)
    }
}

/// Non-overlapping occurrences of `needle`.
private func occurrences(of needle: String, in text: String) -> Int {
    text.components(separatedBy: needle).count - 1
}

/// The (instrument, score) of every pain-point circle, from its class and its title ("NRS 4, 2026-…").
private func painCircles(_ html: String) throws -> [String: [Int]] {
    let pattern = try NSRegularExpression(pattern: #"<circle class="pain-point (\w+)"[^>]*><title>([A-Z]+) (\d+),"#)
    var result: [String: [Int]] = [:]
    let range = NSRange(html.startIndex..., in: html)
    for match in pattern.matches(in: html, range: range) {
        let instrument = String(html[Range(match.range(at: 1), in: html)!])
        let title = String(html[Range(match.range(at: 2), in: html)!])
        let score = Int(html[Range(match.range(at: 3), in: html)!])!
        #expect(title == instrument.uppercased())
        result[instrument, default: []].append(score)
    }
    return result
}

@Suite("audit report")
struct AuditReportTests {
    @Test("the report draws exactly one pain-point circle per NRS and ODI score: the amended one corrected, the retracted one absent")
    func painPoints() throws {
        try TemporaryDirectory.with { directory in
            let story = try ReportStory(in: directory)
            let html = story.html
            #expect(html.hasPrefix("<!DOCTYPE html>"))
            #expect(occurrences(of: "<svg", in: html) == 1)
            #expect(occurrences(of: "<circle class=\"pain-point ", in: html) == 6)
            #expect(occurrences(of: "<circle class=\"pain-point nrs\"", in: html) == 3)
            #expect(occurrences(of: "<circle class=\"pain-point odi\"", in: html) == 3)
            let drawn = try painCircles(html)
            // Drawn in time order per instrument: exam 1, the pain reports, exam 2.
            #expect(drawn == story.expectedScores, "\(drawn)")
            #expect(!(drawn["nrs"] ?? []).contains(6), "the amended NRS 6 is drawn at its corrected value 4")
            #expect(!(drawn["nrs"] ?? []).contains(9), "the retracted NRS 9 is not drawn")
            // The rest of the chart: both injection sessions, the open side effect and the alerts it raised.
            #expect(occurrences(of: "<line class=\"injection\"", in: html) == 2)
            #expect(occurrences(of: "<path class=\"side-effect\"", in: html) == 1)
            let state = try #require(try story.clinic.root.projected.state(of: story.patient))
            #expect(state.alerts.contains { $0.kind == "possible-infection" })
            #expect(occurrences(of: "<circle class=\"alert\"", in: html) == state.alerts.count)
            #expect(html.contains("possible-infection"))
            // Self-contained and verified.
            #expect(!html.contains("<script"))
            #expect(!html.contains(" src=") && !html.contains("<link") && !html.contains(" href="))
            #expect(html.contains("class=\"ok\">Verified:"))

            // The library agrees with the page, event by event.
            let entries = try AuditTimeline.entries(of: story.patient, in: story.clinic.root.store, for: testAuditor).value
            let points = AuditReport.painPoints(entries, state: state)
            #expect(points.count == 6)
            let amended = try #require(points.first { $0.event == story.amendedPain.text })
            #expect(amended.instrument == "nrs" && amended.score == 4)
            #expect(!points.contains { $0.event == story.retractedPain.text })

            // The report refuses to overwrite.
            let again = try CommandRunner.prolo([
                "audit", "report", "--store", story.clinic.root.store.path, "--patient", story.patient.text,
                "--out", story.reportPath,
            ])
            #expect(again.status == 73, "\(again.stderr)")
        }
    }

    @Test(
        "the report renders in headless Chromium: a non-trivial screenshot, the SVG in the DOM, no script errors",
        .requires(.chromium, "the HTML report is not rendered in a browser"), .timeLimit(.minutes(2)))
    func rendersInBrowser() throws {
        let chromium = try #require(RequiredTool.chromium.path)
        try TemporaryDirectory.with { directory in
            let story = try ReportStory(in: directory)
            let url = URL(fileURLWithPath: story.reportPath).absoluteString
            let common = ["--headless=new", "--no-sandbox", "--disable-gpu", "--user-data-dir=\(directory.file("chromium-profile"))"]

            let screenshot = directory.file("report.png")
            let shot = try runWithTimeout(
                chromium, common + ["--screenshot=\(screenshot)", "--window-size=1000,1400", url], seconds: 60)
            #expect(shot.status == 0, "chromium --screenshot failed: \(shot.stderr)")
            let png = try #require(FileManager.default.contents(atPath: screenshot), "no screenshot written: \(shot.stderr)")
            #expect(Array(png.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], "not a PNG")
            try #require(png.count > 24)
            let bytes = Array(png)
            func bigEndian(_ offset: Int) -> Int { bytes[offset..<offset + 4].reduce(0) { $0 << 8 | Int($1) } }
            #expect(bigEndian(16) == 1000 && bigEndian(20) == 1400, "PNG is \(bigEndian(16))×\(bigEndian(20))")
            // A blank page of this size compresses to a few kB; text, tables and a chart do not.
            #expect(png.count > 30_000, "screenshot is only \(png.count) bytes")

            let dump = try runWithTimeout(
                chromium, common + ["--enable-logging=stderr", "--v=0", "--dump-dom", url], seconds: 60)
            #expect(dump.status == 0, "chromium --dump-dom failed: \(dump.stderr)")
            let dom = dump.stdout
            #expect(dom.contains("<svg"), "no svg in the DOM")
            #expect(occurrences(of: "class=\"pain-point ", in: dom) == 6)
            #expect(try painCircles(dom) == story.expectedScores)
            let scriptErrors = dump.stderr.split(separator: "\n").filter {
                $0.localizedCaseInsensitiveContains("uncaught") || $0.localizedCaseInsensitiveContains("console")
            }
            #expect(scriptErrors.isEmpty, "browser console: \(scriptErrors.joined(separator: "\n"))")
        }
    }
}

@Suite("audit report and the fold agree")
struct AuditReportFoldTests {
    @Test("an amendment whose targetType is not its target's type changes neither the state nor the chart")
    func amendmentOfAnotherType() throws {
        try TemporaryDirectory.with { directory in
            let clinic = try ClinicFixture(in: directory)
            let root = clinic.root
            let pain = try root.store.recordOne(try AuditStory.pain("p-1", score: 6, at: .now()), key: root.key).event
            // A valid exam payload sent as the "correction" of a pain report (targetType exam.recorded).
            var exam = CatalogExamples.examRecorded
            exam.painNRS = 1
            let amendment = try EventAmended(target: pain.id, correctedPayload: exam, reason: "wrong form", amendedBy: "prac-1")
            try root.store.record(
                [try EventDraft(amendment, patient: "p-1", occurredAt: .now(), author: AuditStory.clinician)], signedBy: root.key)
            let state = try #require(try root.projected.state(of: "p-1"))
            // The fold ignores an amendment of another type: the pain report stands at NRS 6.
            #expect(state.latestPain.nrs == 6)
            #expect(state.amended.isEmpty)
            let points = AuditReport.painPoints(try AuditTimeline.entries(of: "p-1", in: root.store, for: testAuditor).value, state: state)
            #expect(points.map(\.score) == [6], "\(points)")
        
        }
    }
}
