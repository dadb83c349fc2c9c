import Foundation
import ProloAudit
import ProloDomain
import ProloHTML
import ProloPages
import ProloProjections
import ProloStore
import ProloTestSupport
import Testing

@Suite("HTML builder")
struct HTMLBuilderTests {
    @Test("text and attribute values are escaped, markup written as raw is not, nil attributes are left out")
    func escaping() {
        var html = HTML()
        html.element("p", [("title", "\"x\" & 'y'"), ("hidden", nil), ("required", "")]) {
            $0.text("<script>alert(1)</script>")
        }
        html.raw("<br>")
        #expect(
            html.markup
                == "<p title=\"&quot;x&quot; &amp; &#39;y&#39;\" required>&lt;script&gt;alert(1)&lt;/script&gt;</p><br>"
        )
        #expect(HTML.escape("plain text, café") == "plain text, café")
    }

    @Test("a patient id is percent-encoded as one path segment")
    func pathSegments() {
        #expect(PageLayout.patientPath("p-0001") == "/ui/patients/p-0001")
        #expect(PageLayout.percentEncoded("a/b c") == "a%2Fb%20c")
    }
}

@Suite("clinic clock")
struct ClinicClockTests {
    @Test("days and minutes are the clinic's, with UTC kept for the hover title")
    func zones() throws {
        // 2026-12-06T23:30:00Z is already 7 December in Oslo (UTC+1 in winter), still 6 December in UTC.
        let instant = try Timestamp(checked: "2026-12-06T23:30:00Z").millisecondsSinceEpoch
        let oslo = try #require(ClinicClock(identifier: "Europe/Oslo"))
        #expect(oslo.day(instant) == "2026-12-07")
        #expect(oslo.minute(instant) == "2026-12-07 00:30")
        #expect(ClinicClock().day(instant) == "2026-12-06")
        #expect(ClinicClock.utcMinute(instant) == "2026-12-06 23:30 UTC")
        // Summer time: UTC+2.
        let summer = try Timestamp(checked: "2026-07-01T10:05:00Z").millisecondsSinceEpoch
        #expect(oslo.minute(summer) == "2026-07-01 12:05")
        #expect(ClinicClock().minute(-1) == "1969-12-31 23:59")
        #expect(ClinicClock(identifier: "Not/AZone") == nil)
        var html = HTML()
        html.time(instant, oslo)
        #expect(
            html.markup
                == "<time datetime=\"2026-12-06T23:30:00.000Z\" title=\"2026-12-06 23:30 UTC\">2026-12-07 00:30</time>")
    }
}

@Suite("pages from the read models")
struct PageModelTests {
    static let viewer = PageViewer(
        description: "clinic token t", csrfToken: "c0ffee", mayReadClinic: true, mayRecord: true)

    @Test("the today page sorts patients into overdue, due today and upcoming by the clinic's day")
    func todayGroups() throws {
        try TemporaryDirectory.with { directory in
            let (projected, key) = try Self.store(in: directory)
            let now = Timestamp.now().millisecondsSinceEpoch
            for (patient, daysAgo) in [("p-over", 30), ("p-today", 15), ("p-soon", 10)] {
                try Self.injected(
                    PatientID(stringLiteral: patient), daysAgo: Int64(daysAgo), now: now, projected: projected, key: key
                )
            }
            let due = try projected.due(within: TodayPage.days)
            let clock = ClinicClock()
            let groups = Dictionary(
                uniqueKeysWithValues: due.map { ($0.patient, TodayPage.group(of: $0, now: .now(), clock: clock)) })
            #expect(groups["p-over"] == .overdue)
            #expect(groups["p-today"] == .today)
            #expect(groups["p-soon"] == .upcoming)
            let html = TodayPage.html(due: due, now: .now(), clock: clock, clinic: "Test clinic", viewer: Self.viewer)
            #expect(html.contains("1 overdue, 1 due today, 1 due in the next 14 days."))
            #expect(html.contains("<title>Today and the next 14 days · Test clinic</title>"))
            #expect(html.contains("name=\"csrf\" value=\"c0ffee\""))
        }
    }

    @Test(
        "the patient page says in words that an open red flag blocks the next injection, and offers a labelled form to clear it"
    )
    func blockedInjection() throws {
        try TemporaryDirectory.with { directory in
            let (projected, key) = try Self.store(in: directory)
            let now = Timestamp.now().millisecondsSinceEpoch
            let injection = try Self.injected("p-1", daysAgo: 3, now: now, projected: projected, key: key)
            var fever = CatalogExamples.sideEffectReported
            fever.relatedInjection = injection
            fever.onset = Timestamp(millisecondsSinceEpoch: now - 2 * 86_400_000)
            try projected.store.record(
                [try EventDraft(fever, patient: "p-1", occurredAt: fever.onset, author: Fixtures.clinician)],
                signedBy: key)
            let model = try #require(try PatientPage.read("p-1", from: projected))
            let html = PatientPage.html(model, now: .now(), clock: ClinicClock(), clinic: nil, viewer: Self.viewer)
            #expect(html.contains("The next injection is blocked."))
            #expect(html.contains("possible infection"))
            #expect(html.contains("<label for=\"clinician-0\">") && html.contains("id=\"clinician-0\""))
            #expect(html.contains("<label for=\"reason-0\">") && html.contains("id=\"reason-0\""))
            #expect(html.contains("role=\"img\" aria-labelledby=\"chart-title chart-desc\""))
            let readOnly = PageViewer(description: "audit token", csrfToken: "c", mayReadClinic: true, mayRecord: false)
            #expect(
                !PatientPage.html(model, now: .now(), clock: ClinicClock(), clinic: nil, viewer: readOnly).contains(
                    "<form class=\"clear\""))

            // The clearance the form would post: refused in words when incomplete, a valid draft when complete.
            let state = model.state
            let raisedBy = try #require(state.openAlerts.first { $0.kind == "possible-infection" }).raisedBy.joined(
                separator: " ")
            #expect(throws: AlertClearance.Refusal.self) {
                try AlertClearance.draft(
                    patient: "p-1", kind: "possible-infection", raisedBy: raisedBy, clinician: "", reason: "x",
                    open: state)
            }
            #expect(throws: AlertClearance.Refusal.self) {
                try AlertClearance.draft(
                    patient: "p-1", kind: "no-such-kind", raisedBy: raisedBy, clinician: "dr-lee", reason: "x",
                    open: state)
            }
            let draft = try AlertClearance.draft(
                patient: "p-1", kind: "possible-infection", raisedBy: raisedBy, clinician: "dr-lee", reason: "afebrile",
                open: state)
            try projected.store.record([draft], signedBy: key)
            // Grade 3 also raised a serious adverse event: the injection stays blocked, and the page still says so.
            let after = try #require(try PatientPage.read("p-1", from: projected))
            #expect(after.state.blockingAlerts.map(\.kind) == ["serious-adverse-event"], "\(after.state.alerts)")
            let page = PatientPage.html(after, now: .now(), clock: ClinicClock(), clinic: nil, viewer: Self.viewer)
            #expect(page.contains("The next injection is blocked.") && page.contains("serious adverse event"))
        }
    }

    static func store(in directory: TemporaryDirectory) throws -> (ProjectedStore, DeviceKey) {
        let key = DeviceKey()
        return (try ProjectedStore.create(at: directory.file("pages.sqlite"), deviceName: "clinic", key: key), key)
    }

    /// Consent, a six-session course (2 to 4 weeks apart) and one injection `daysAgo`; returns the injection's id.
    @discardableResult
    static func injected(_ patient: PatientID, daysAgo: Int64, now: Int64, projected: ProjectedStore, key: DeviceKey)
        throws -> EventID
    {
        let start = Timestamp(millisecondsSinceEpoch: now - (daysAgo + 1) * 86_400_000)
        let injectedAt = Timestamp(millisecondsSinceEpoch: now - daysAgo * 86_400_000)
        let events = try projected.store.record(
            [
                try EventDraft(
                    CatalogExamples.consentRecorded, patient: patient, occurredAt: start, author: Fixtures.clinician),
                try EventDraft(
                    CatalogExamples.coursePlanned, patient: patient, occurredAt: start, author: Fixtures.clinician),
                try EventDraft(
                    CatalogExamples.injectionAdministered, patient: patient, occurredAt: injectedAt,
                    author: Fixtures.clinician),
            ], signedBy: key)
        return events[2].event.id
    }
}
