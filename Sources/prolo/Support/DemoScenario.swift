import Crypto
import Foundation
import ProloAudit
import ProloDomain
import ProloHTTPSync
import ProloProjections
import ProloServer
import ProloStore
import ProloSync

/// The story `prolo demo` tells with real stores, real servers and real bundles, checking as it goes.
///
/// Patient p-0001 is examined, a course of six sessions is planned and two injections are given, recorded on a
/// laptop offline; her home tablet reports pain and, the day after the second session, a fever of 38.6 °C with
/// intense pain. The clinic server raises `possible-infection`; a clinician clears it; the third session's record
/// reaches the second server on a USB stick (an encrypted bundle); an auditor verifies both servers and replays
/// what the clinic knew before the third session.
struct DemoScenario {
    let folder: String
    private var checks: [(String, Bool)] = []
    private var step = 0

    init(folder: String) {
        self.folder = folder
    }

    private struct Device {
        let name: String
        let projected: ProjectedStore
        let key: DeviceKey
        var store: EventStore { projected.store }
    }

    private static let patient: PatientID = "p-0001"
    private static let clinician = Author(id: "prac-0012", role: .clinician)
    private static let patientAuthor = Author(id: "p-0001", role: .patient)

    // MARK: Narration

    private mutating func narrate(_ text: String) {
        step += 1
        say("")
        say("\(step). \(text)")
    }

    private mutating func check(_ label: String, _ condition: Bool) {
        checks.append((label, condition))
        say("   \(condition ? "✓" : "✗") \(label)")
    }

    private func note(_ text: String) {
        say("   \(text)")
    }

    // MARK: Devices

    private func path(_ name: String) -> String { (folder as NSString).appendingPathComponent("\(name).sqlite") }

    private func makeDevice(_ name: String, trust: StoreTrust) throws -> Device {
        let key = DeviceKey()
        let projected = try ProjectedStore.create(at: path(name), deviceName: name, key: key, trust: trust)
        return Device(name: name, projected: projected, key: key)
    }

    private func enroll(_ device: Device, role: DeviceEnrolled.Role, patient: PatientID? = nil, on root: Device) throws {
        let payload = DeviceEnrolled(
            deviceName: try Label(checked: device.name), publicKey: try PublicKeyBase64(checked: device.key.publicKey.base64),
            role: role, patient: patient, enrolledBy: try Identifier(checked: root.store.identity.origin.text))
        try root.store.record(
            [try EventDraft(payload, patient: nil, occurredAt: .now(), author: Author(id: "admin-0001", role: .admin))],
            signedBy: root.key)
    }

    @discardableResult
    private func record<Payload: EventPayload>(
        _ payload: Payload, on device: Device, at time: String, by author: Author = clinician
    ) throws -> EventID {
        let draft = try EventDraft(payload, patient: Self.patient, occurredAt: try Timestamp(checked: time), author: author)
        return try device.store.record([draft], signedBy: device.key)[0].event.id
    }

    // MARK: The story

    /// Runs the story; returns whether every check held.
    mutating func run() async throws -> Bool {
        say("Prolo demo: a clinic of real devices in \(folder)")

        narrate("North Clinic's server is created; its key is the clinic's root of trust. A second server (another site), a clinician's laptop and Maren's home tablet join it and are enrolled.")
        let serverA = try makeDevice("north-server", trust: .clinicRoot)
        try serverA.store.setClinicName("North Clinic")
        let root = serverA.key.publicKey
        let serverB = try makeDevice("south-server", trust: .joining(root: root, homePatient: nil))
        let laptop = try makeDevice("laptop-room-2", trust: .joining(root: root, homePatient: nil))
        let tablet = try makeDevice("marens-tablet", trust: .joining(root: root, homePatient: Self.patient))
        try enroll(serverB, role: .replica, on: serverA)
        try enroll(laptop, role: .clinic, on: serverA)
        try enroll(tablet, role: .home, patient: Self.patient, on: serverA)
        let laptopToken = try serverA.store.issueToken(device: laptop.name, scope: "clinic", expiresAt: nil).1
        let tabletToken = try serverA.store.issueToken(device: tablet.name, scope: "patient:\(Self.patient)", expiresAt: nil).1
        let replicaToken = try serverA.store.issueToken(device: serverB.name, scope: "replica", expiresAt: nil).1
        check("4 devices, 3 enrollments signed by the root", try serverA.store.registry().devices.count == 4)

        narrate("Both servers start on free loopback ports (the same server `prolo serve` runs).")
        let httpA = try await LocalServer.start(serverA.projected, key: serverA.key)
        let httpB = try await LocalServer.start(serverB.projected, key: serverB.key)
        defer { Task { await httpA.stop(); await httpB.stop() } }
        note("north-server at \(httpA.url), south-server at \(httpB.url)")

        narrate("In the treatment room, offline, the laptop records Maren's registration, consent, exam (NRS 7, ODI 42), a course of 6 sessions 2–4 weeks apart, and two injection sessions.")
        try record(CatalogExamples.patientRegistered, on: laptop, at: "2026-09-07T08:30:00Z")
        try record(CatalogExamples.consentRecorded, on: laptop, at: "2026-09-07T09:00:00Z")
        try record(CatalogExamples.examRecorded, on: laptop, at: "2026-09-07T09:20:00Z")
        try record(CatalogExamples.coursePlanned, on: laptop, at: "2026-09-07T10:00:00Z")
        try record(CatalogExamples.injectionAdministered, on: laptop, at: "2026-09-14T10:00:00Z")
        let secondInjection = try record(CatalogExamples.injectionAdministered, on: laptop, at: "2026-09-28T10:00:00Z")
        let laptopClient = HTTPSyncClient(server: httpA.url, token: laptopToken, store: laptop.store)
        let first = try await laptopClient.sync()
        note("laptop synced: \(first.sent) sent, \(first.new) received (the enrollments)")
        check("north-server holds the laptop's 6 events", try serverA.store.count() == 3 + 6)

        narrate("At home, Maren's tablet syncs its slice, reports NRS 5, and the evening after the second session a fever of 38.6 °C with intense pain (grade 3).")
        let tabletClient = HTTPSyncClient(server: httpA.url, token: tabletToken, store: tablet.store)
        try await tabletClient.sync()
        try record(
            PainReported(instrument: .nrs, score: 5, reporter: Reporter(role: .patient, id: "p-0001")), on: tablet,
            at: "2026-09-21T19:00:00Z", by: Self.patientAuthor)
        var fever = CatalogExamples.sideEffectReported
        fever.onset = try Timestamp(checked: "2026-09-29T20:30:00Z")
        fever.relatedInjection = secondInjection
        let feverID = try record(fever, on: tablet, at: "2026-09-29T20:30:00Z", by: Self.patientAuthor)
        // What `prolo record side-effect` prints on a home store: the library's one wording, offline.
        if let tabletState = try tablet.projected.state(of: Self.patient) {
            for advice in UrgentAdvice.advice(for: tabletState, raisedBy: feverID.text) {
                note("the tablet tells Maren at once, offline: \(advice)")
            }
        }
        try await tabletClient.sync()
        let tabletEvents = try tablet.store.events()
        check("the tablet holds only Maren's record (and the registry)", tabletEvents.allSatisfy { $0.event.patient == nil || $0.event.patient == Self.patient })
        let alerts = try serverA.projected.openAlerts()
        for alert in alerts { note("north-server alert: \(alert.kind) for \(alert.patient)") }
        check("north-server raises possible-infection", alerts.contains { $0.kind == "possible-infection" && $0.patient == Self.patient.text })

        narrate("The clinician syncs, sees the alert, examines Maren (37.4 °C, sites clean): a flare, not an infection. The alerts are cleared on the laptop and synced.")
        try await laptopClient.sync()
        let clearance = AlertCleared(
            alertKind: .possibleInfection, raisedBy: [feverID], clinician: "prac-0012",
            reason: "Seen next morning: 37.4 °C, injection sites clean, CRP 6 mg/L. Post-injection flare; review in 48 h.")
        try record(clearance, on: laptop, at: "2026-09-30T09:30:00Z")
        // Grade 3 is a serious adverse event, which also blocks the next session until a clinician clears it.
        let seriousClearance = AlertCleared(
            alertKind: .seriousAdverseEvent, raisedBy: [feverID], clinician: "prac-0012",
            reason: "Grade 3 pain was the post-injection flare; settled by the morning. Next session may go ahead.")
        try record(seriousClearance, on: laptop, at: "2026-09-30T09:31:00Z")
        try await laptopClient.sync()
        check("north-server: possible-infection cleared", try !serverA.projected.openAlerts().contains { $0.kind == "possible-infection" })
        let beforeThirdSession = Timestamp.now()

        narrate("south-server replicates with north-server over HTTP (`prolo replicate`).")
        let replicaClient = HTTPSyncClient(server: httpA.url, token: replicaToken, store: serverB.store)
        let replicated = try await replicaClient.sync()
        note("south-server received \(replicated.new) events")
        check("both servers hold the same log", try serverA.store.versionVector() == serverB.store.versionVector())

        narrate("The third session is recorded on the laptop, which then travels without network: its new records go to south-server on a USB stick, as a bundle encrypted to south-server's key.")
        try await Task.sleep(for: .milliseconds(20))
        try record(CatalogExamples.injectionAdministered, on: laptop, at: "2026-10-12T10:00:00Z")
        try record(
            PainReported(instrument: .nrs, score: 3, reporter: Reporter(role: .clinician, id: "prac-0012")), on: laptop,
            at: "2026-10-12T09:50:00Z")
        let bundlePath = (folder as NSString).appendingPathComponent("usb-stick.bundle")
        let exported = try BundleExport.export(
            from: laptop.store, signedBy: laptop.key, to: bundlePath,
            options: BundleExport.Options(cutAgainst: try serverB.store.versionVector(), recipient: try serverB.key.agreementKey().publicKey))
        let imported = try BundleImport.import(from: bundlePath, into: serverB.store, key: serverB.key)
        note("bundle: \(exported.events) events, \(exported.bytes) bytes, encrypted; south-server imported \(imported.new) new")
        check("south-server has the third session", try serverB.projected.state(of: Self.patient)?.sessionsCompleted == 3)
        let back = try await replicaClient.sync()
        note("replication brought \(back.sent) events back to north-server")
        try await laptopClient.sync()
        try await tabletClient.sync()
        let converged = try serverA.store.versionVector() == serverB.store.versionVector()
            && serverA.store.versionVector() == laptop.store.versionVector()
        check("north-server, south-server and the laptop converge", converged)

        narrate("An auditor verifies both servers, replays what the clinic knew before the third session, and writes the report.")
        let verifiedA = try ChainVerifier.verify(serverA.store)
        let verifiedB = try ChainVerifier.verify(serverB.store)
        check("north-server verifies: \(verifiedA.eventsChecked) events, \(verifiedA.heads.count) chains", verifiedA.isClean)
        check("south-server verifies: \(verifiedB.eventsChecked) events", verifiedB.isClean)
        let auditor = AuditLog.accessor(serverA.store, command: "prolo demo")
        let knew = AuditLog.warned(
            try AuditReplay.state(
                of: Self.patient, in: serverA.store, asOf: beforeThirdSession, by: .recorded, for: auditor))
        check(
            "before the third session the clinic knew 2 sessions and a cleared infection alert",
            knew.sessionsCompleted == 2 && knew.alerts.contains { $0.kind == "possible-infection" && $0.cleared })
        let reportPath = (folder as NSString).appendingPathComponent("p-0001-report.html")
        if let state = try serverA.projected.state(of: Self.patient) {
            let entries = AuditLog.warned(try AuditTimeline.entries(of: Self.patient, in: serverA.store, for: auditor))
            let page = AuditReport.html(patient: Self.patient, state: state, entries: entries, verification: verifiedA, generatedAt: .now())
            try Data(page.utf8).write(to: URL(fileURLWithPath: reportPath))
            note("report: \(reportPath)")
        }
        check("the HTML report is written", FileManager.default.fileExists(atPath: reportPath))

        await httpA.stop()
        await httpB.stop()

        say("")
        say("| device | role | events held | verified |")
        say("|---|---|---:|---|")
        for (device, role) in [(serverA, "root server"), (serverB, "replica server"), (laptop, "clinician laptop"), (tablet, "home tablet")] {
            let verified = role == "home tablet" ? "slice" : (try ChainVerifier.verify(device.store).isClean ? "yes" : "NO")
            say("| \(device.name) | \(role) | \(try device.store.count()) | \(verified) |")
        }
        let open = try serverA.projected.openAlerts()
        say("")
        say("converged: \(converged ? "yes" : "NO"); open alerts on north-server: \(open.isEmpty ? "none" : open.map(\.kind).joined(separator: ", "))")
        let failed = checks.filter { !$0.1 }
        say("\(checks.count - failed.count) of \(checks.count) checks held")
        return failed.isEmpty
    }
}
