import Foundation
import ProloDomain
import ProloPages
import ProloProjections
import ProloServer
import ProloStore
import ProloTestSupport
import Testing

/// The clinic-wide pages over a store of 1 000 patients: they answer, and list exactly what the read models list.
@Suite("web pages: a 1 000-patient store")
struct PageScaleTests {
    @Test("the today, alerts and devices pages answer over 1 000 patients and list every patient the read models list")
    func thousandPatients() async throws {
        try await TemporaryDirectory.with { directory in
            let clinic = try await ScaleClinic.make(in: directory)
            let projected = clinic.projected
            #expect(try projected.patients().count == 1000)
            let token = clinic.clinicToken
            let server = try await TestServer.start(projected: projected, key: clinic.key)
            do {
                let browser = PageClient(server)
                try await browser.signIn(token)
                let now = Timestamp.now()
                let today = try await browser.get("/ui/today")
                #expect(today.status == 200)
                let due = try projected.due(within: TodayPage.days, now: now)
                #expect(!due.isEmpty)
                for summary in due {
                    #expect(today.text.contains(">\(summary.patient)</a>"), "\(summary.patient) missing from today")
                }
                let alerts = try await browser.get("/ui/alerts")
                #expect(alerts.status == 200)
                let open = try projected.openAlerts()
                let rows = alerts.text.components(separatedBy: "class=\"alert-row\"").count - 1
                #expect(rows == open.count && rows > 0, "\(rows) rows for \(open.count) open alerts")
                #expect(try await browser.get("/ui/devices").status == 200)
                let busiest = try #require(due.first?.patient)
                #expect(try await browser.get("/ui/patients/\(busiest)").status == 200)
            } catch {
                try? await server.stop()
                throw error
            }
            try await server.stop()
        }
    }
}
