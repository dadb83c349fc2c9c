import Foundation
import ProloDomain
import ProloPages
import ProloProjections
import ProloServer
import ProloStore
import ProloTestSupport
import Testing

/// The clinic's pages in headless Chromium, driven as a person with a keyboard by `Tools/page-check.py`
/// (selenium and chromedriver), over the demo story's store served by a real server in the clinic's time zone.
/// Screenshots, DOMs and the A4 print go to `.build/page-check/` for review; the 1 000-patient store's pages to
/// `.build/page-check-1000/`.
@Suite(
    "web pages in a browser",
    .requires(.chromium, "the web pages are not rendered in a browser"),
    .requires(.chromedriver, "the web pages are not driven in a browser"),
    .requires(.pythonSelenium, "the web pages are not driven in a browser"),
    // One Chromium at a time: two would share this machine's two cores with the servers they drive.
    .serialized)
struct PageBrowserTests {
    static let output = Fixtures.repositoryRoot + "/.build/page-check"

    @Test(
        "every page renders in Chromium with its key facts, no console error, no serious axe-core violation, no sideways scrolling at tablet width; an alert is cleared by keyboard alone",
        .timeLimit(.minutes(5)))
    func pagesInChromium() async throws {
        try await TemporaryDirectory.with { directory in
            let clinic = try await PageClinic.make(in: directory)
            var configuration = ClinicServerConfiguration()
            configuration.timeZone = try #require(TimeZone(identifier: "Europe/Oslo"))
            let server = try await TestServer.start(
                projected: clinic.projected, key: clinic.key, configuration: configuration)
            let report = try await Self.pageCheck(
                server, output: Self.output,
                [
                    "--clinic-token", clinic.clinicToken, "--audit-token", clinic.auditToken,
                    "--patient-token", clinic.patientToken, "--patient", PageClinic.storyPatient.text,
                    "--alert-patient", PageClinic.alertPatient.text,
                ])
            try check(report, clinic: clinic)
        }
    }

    @Test(
        "over 1 000 patients the today, alerts, devices and a patient page render in Chromium with their key facts, no console error, no serious axe-core violation, no sideways scrolling at tablet width",
        .timeLimit(.minutes(5)))
    func thousandPatientsInChromium() async throws {
        try await TemporaryDirectory.with { directory in
            let clinic = try await ScaleClinic.make(in: directory)
            let projected = clinic.projected
            let due = try projected.due(within: TodayPage.days, now: .now())
            let busiest = try PatientID(checked: try #require(due.first?.patient))
            let timeline = try #require(try PatientPage.read(busiest, from: projected)).entries.count
            let open = try projected.openAlerts()
            try #require(due.count > 100 && open.count > 100, "\(due.count) due, \(open.count) open alerts")
            let server = try await TestServer.start(projected: projected, key: clinic.key)
            let output = Self.output + "-1000"
            let report = try await Self.pageCheck(
                server, output: output,
                ["--pages-only", "--clinic-token", clinic.clinicToken, "--patient", busiest.text])
            #expect(report["signIn"]?["signedIn"] == .bool(true), "keyboard sign-in: \(report["signIn"] ?? .null)")
            let pages = try #require(report["pages"]?.objectValue)
            #expect(pages.keys.sorted() == ["alerts", "devices", "patient", "today"])
            for (name, page) in pages.sorted(by: { $0.key < $1.key }) {
                let serious = items(page["axe"]).filter {
                    $0["impact"]?.stringValue == "serious" || $0["impact"]?.stringValue == "critical"
                }
                #expect(serious.isEmpty, "\(name): axe-core: \(serious)")
                #expect(items(page["console"]).isEmpty, "\(name): console: \(items(page["console"]))")
                #expect((page["tabletOverflow"]?.integerValue ?? 1) <= 0, "\(name) scrolls sideways at 768 px")
                #expect(FileManager.default.fileExists(atPath: "\(output)/\(name).png"), "no screenshot of \(name)")
            }

            // Key facts, in the DOM the browser built, against the read models.
            func dom(_ name: String) throws -> String {
                try String(contentsOfFile: "\(output)/\(name).html", encoding: .utf8)
            }
            let today = try dom("today")
            let missing = due.filter { !today.contains(">\($0.patient)</a>") }.map(\.patient)
            #expect(missing.isEmpty, "\(missing.count) of \(due.count) due patients missing: \(missing.prefix(5))")
            let alerts = try dom("alerts")
            let rows = alerts.components(separatedBy: "class=\"alert-row\"").count - 1
            #expect(rows == open.count, "\(rows) rows for \(open.count) open alerts")
            let mostSevere = try #require(alerts.range(of: "class=\"alert-row\""))
            let firstRow = alerts[mostSevere.lowerBound...].prefix(600)
            #expect(firstRow.contains(">\(open[0].patient)</a>"), "most severe first")
            let devices = try dom("devices")
            #expect(devices.contains("1 enrolled device;") && devices.contains("clinic<br>"))
            let patient = try dom("patient")
            #expect(patient.contains("Patient \(busiest)") && patient.contains("Timeline (\(timeline) events)"))
        }
    }

    /// Runs `Tools/page-check.py` against `server` with `arguments` (its `--url` and `--out` added), stops the
    /// server, and returns the report the script printed.
    static func pageCheck(_ server: TestServer, output: String, _ arguments: [String]) async throws -> JSONValue {
        let python = try #require(RequiredTool.pythonSelenium.path)
        let run: CommandResult
        do {
            try? FileManager.default.removeItem(atPath: output)
            let script = Fixtures.repositoryRoot + "/Tools/page-check.py"
            let arguments = [script, "--url", server.baseURL, "--out", output] + arguments
            // Waiting for the driver blocks a thread for as long as the browser works: on a Dispatch thread, never
            // one of the cooperative pool's (two on this machine), which the server's handlers need meanwhile.
            run = try await withCheckedThrowingContinuation { continuation in
                DispatchQueue.global().async {
                    continuation.resume(with: Result { try CommandRunner.run(python, arguments) })
                }
            }
        } catch {
            try? await server.stop()
            throw error
        }
        try await server.stop()
        try #require(run.status == 0, "page-check.py failed (\(run.status)):\n\(run.stderr.suffix(3000))")
        return try JSONParser.parse(Array(run.stdout.utf8))
    }

    private func items(_ value: JSONValue?) -> [JSONValue] {
        if case .array(let items)? = value { return items }
        return []
    }

    private func dom(_ name: String) throws -> String {
        try String(contentsOfFile: "\(Self.output)/\(name).html", encoding: .utf8)
    }

    private func check(_ report: JSONValue, clinic: PageClinic) throws {
        #expect(report["signIn"]?["signedIn"] == .bool(true), "keyboard sign-in: \(report["signIn"] ?? .null)")
        let pages = try #require(report["pages"]?.objectValue)
        #expect(pages.count == 9, "\(pages.keys.sorted())")
        for (name, page) in pages.sorted(by: { $0.key < $1.key }) {
            let serious = items(page["axe"]).filter {
                $0["impact"]?.stringValue == "serious" || $0["impact"]?.stringValue == "critical"
            }
            #expect(serious.isEmpty, "\(name): axe-core: \(serious)")
            // The refusal page is answered with 403 on purpose, and the browser logs that status.
            let console = items(page["console"]).filter {
                !(name == "refused" && ($0.stringValue ?? "").contains("403"))
            }
            #expect(console.isEmpty, "\(name): console: \(console)")
            #expect((page["tabletOverflow"]?.integerValue ?? 1) <= 0, "\(name) scrolls sideways at 768 px")
            #expect(FileManager.default.fileExists(atPath: "\(Self.output)/\(name).png"), "no screenshot of \(name)")
        }

        // Key facts, in the DOM the browser built.
        let today = try dom("today")
        #expect(today.contains("due-overdue") && today.contains(">p-0003<"), "p-0003 overdue")
        #expect(today.contains("due-today") && today.contains(">p-0004<"), "p-0004 due today")
        #expect(today.contains("due-upcoming") && today.contains(">p-0002<"), "p-0002 due within 14 days")
        #expect(!today.contains(">p-0001<"), "the story's course is closed")
        #expect(today.contains("Europe/Oslo") && today.contains(" UTC\""), "clinic time zone with UTC on hover")
        let alerts = try dom("alerts")
        let firstRow = try #require(alerts.range(of: "class=\"alert-row\""))
        #expect(
            alerts[firstRow.lowerBound...].prefix(400).contains("possible-infection"), "the most severe alert first")
        #expect(alerts.contains("blocks the next injection"))
        #expect(alerts.contains("side-effect.reported <code>"), "what raised the alert, by event type")
        let devices = try dom("devices")
        #expect(devices.contains(DemoDevice.name) && devices.contains("p1-tablet") && devices.contains("revoked"))
        let patient = try dom("patient")
        #expect(
            patient.contains("Timeline (17 events)"),
            "the story's 19 events less the two device events, which name no patient")
        #expect(patient.contains("class=\"retracted\"") && patient.contains("class=\"amended\""), "corrections shown")
        #expect(patient.contains("class=\"pain-point nrs\"") && patient.contains("class=\"baseline nrs\""))
        #expect(patient.contains("Cleared") || patient.contains(">cleared<"))
        let alertPatient = try dom("alert-patient")
        #expect(alertPatient.contains("The next injection is blocked."))

        // Print: A4, the chrome hidden, nothing wider than the paper.
        let print = try #require(report["print"])
        #expect((print["pages"]?.integerValue ?? 0) >= 1)
        #expect(print["chromeHidden"] == .bool(true))
        #expect((print["printOverflow"]?.integerValue ?? 1) <= 0, "the print view is wider than A4")

        // The decision, made with the keyboard alone, and what it left in the store.
        let clear = try #require(report["clear"])
        #expect(clear["result"]?.stringValue?.contains("Cleared: Possible infection.") == true, "\(clear)")
        #expect(clear["blocked"] == .bool(false))
        #expect(try !clinic.projected.openAlerts().contains { $0.patient == PageClinic.alertPatient.text })
        let prolo = try CommandRunner.prolo(["alerts", "--store", clinic.store.path])
        #expect(prolo.status == 0 && !prolo.stdout.contains("p-0002"), "prolo alerts: \(prolo.stdout)")

        // The patient's own token: their record, and a refusal in words elsewhere.
        #expect(report["patientSignIn"]?["signedIn"] == .bool(true))
        #expect(try dom("own-record").contains("Patient p-0001"))
        #expect(report["patientOnToday"]?["text"]?.stringValue?.contains("sees only that patient's own page") == true)
        #expect(report["auditForms"]?.integerValue == 0, "an audit token gets no form to record with")
    }
}
