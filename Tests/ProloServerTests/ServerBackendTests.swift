import Foundation
import ProloDomain
import ProloExport
import ProloHTTPSync
import ProloProjections
import ProloServer
import ProloStore
import ProloSync
import ProloTestSupport
import Testing

/// A clinic whose root's store is the server's: a laptop and a home device of p-1 enrolled, each with a token.
private struct ServedClinic {
    let clinic: ClinicFixture
    let laptop: ClinicFixture.Device
    let home: ClinicFixture.Device
    let laptopToken: String
    let homeToken: String
    let auditToken: String

    init(in directory: TemporaryDirectory) throws {
        clinic = try ClinicFixture(in: directory)
        laptop = try clinic.addDevice("laptop", role: .clinic)
        home = try clinic.addDevice("home", role: .home, patient: "p-1")
        let auditor = try clinic.addDevice("auditor", role: .audit)
        laptopToken = try clinic.root.store.issueToken(device: "laptop", scope: "clinic", expiresAt: nil).1
        homeToken = try clinic.root.store.issueToken(device: "home", scope: "patient:p-1", expiresAt: nil).1
        auditToken = try clinic.root.store.issueToken(device: auditor.name, scope: "audit", expiresAt: nil).1
    }

    func sync(_ device: ClinicFixture.Device, _ token: String, _ server: TestServer) async throws -> SyncReport {
        var client = HTTPSyncClient(server: server.baseURL, token: token, store: device.store)
        client.attempts = 1
        client.logger = quietLogger
        return try await client.sync()
    }
}

@Suite("The clinic server over each backend: one suite, SQLite and PostgreSQL (issue 14)")
struct ServerBackendTests {
    @Test("a laptop and a home device sync over HTTP and converge: the laptop holds the server's log, the home device its patient's slice; an enrollment over HTTP admits a new device", arguments: Backend.allCases)
    func devicesConverge(_ backend: Backend) async throws {
        try await TemporaryDirectory.with { directory in
            var random = SeededGenerator(seed: 20_261_207)
            let served = try ServedClinic(in: directory)
            try await withServer(backend, device: served.clinic.root) { server in
                try ClinicalDrafts.record(12, on: served.laptop, patients: ["p-1", "p-2"], using: &random)
                try ClinicalDrafts.record(4, on: served.home, patients: [], using: &random)
                let pushed = try await served.sync(served.laptop, served.laptopToken, server)
                #expect(pushed.sent == 12)
                _ = try await served.sync(served.home, served.homeToken, server)
                _ = try await served.sync(served.laptop, served.laptopToken, server)
                let (vector, _) = try await server.server.log.summary(.full)
                #expect(try served.laptop.store.versionVector() == vector)
                #expect(try served.home.store.versionVector()[served.laptop.store.identity.origin.text] > 0)
                let homeEvents = try served.home.store.events().map(\.event)
                #expect(homeEvents.allSatisfy { $0.patient == nil || $0.patient == "p-1" })
                let laptopEvents = try served.laptop.store.events().map(\.event)
                #expect(
                    Set(homeEvents.filter { $0.patient == "p-1" }.map(\.id))
                        == Set(laptopEvents.filter { $0.patient == "p-1" }.map(\.id)))
                // In sync: a second round moves nothing.
                let again = try await served.sync(served.laptop, served.laptopToken, server)
                #expect(again.new == 0 && again.sent == 0)

                // The server enrolls a device (signed by its own key); the device's pushes are then admitted.
                let tablet = DeviceKey()
                let enrolled = try await rawRequest(
                    "POST", server.url("/v1/devices"), token: served.laptopToken,
                    body: Array(#"{"name":"tablet","role":"clinic","publicKey":"\#(tablet.publicKey.base64)"}"#.utf8))
                #expect(enrolled.status == 201, "\(enrolled.text)")
                #expect(try await server.server.log.registry().devices[tablet.publicKey.origin]?.name == "tablet")
                let listed = try await rawRequest("GET", server.url("/v1/devices"), token: served.laptopToken)
                #expect(listed.status == 200)
                #expect(listed.text.contains(#""name":"tablet""#))
            }
        }
    }

    @Test("the clinic's summary and a patient slice's name the version vector and the chain heads the synced laptop and home device hold, on either backend", arguments: Backend.allCases)
    func summariesNameWhatDevicesHold(_ backend: Backend) async throws {
        try await TemporaryDirectory.with { directory in
            var random = SeededGenerator(seed: 20_261_208)
            let served = try ServedClinic(in: directory)
            try await withServer(backend, device: served.clinic.root) { server in
                try ClinicalDrafts.record(10, on: served.laptop, patients: ["p-1", "p-2"], using: &random)
                // The laptop's latest event is about p-2, so its chain reaches further in the clinic than in p-1's slice.
                try served.laptop.store.record([try Fixtures.painDraft(patient: "p-2", score: 4)], signedBy: served.laptop.key)
                try ClinicalDrafts.record(3, on: served.home, patients: [], using: &random)
                _ = try await served.sync(served.laptop, served.laptopToken, server)
                _ = try await served.sync(served.home, served.homeToken, server)
                _ = try await served.sync(served.laptop, served.laptopToken, server)
                _ = try await served.sync(served.home, served.homeToken, server)

                let (clinic, clinicHeads) = try await server.server.log.summary(.full)
                #expect(clinic == (try served.laptop.store.versionVector()))
                #expect(clinicHeads.hashes == (try served.laptop.store.chainHeads(at: clinic).hashes))
                #expect(clinicHeads.hashes.count == clinic.heads.count)

                let (slice, sliceHeads) = try await server.server.log.summary(.patient("p-1"))
                #expect(slice == (try served.home.store.versionVector()))
                #expect(sliceHeads.hashes == (try served.home.store.chainHeads(at: slice).hashes))
                #expect(sliceHeads.hashes.count == slice.heads.count)
                // The laptop's events about p-2 are not in the slice: its position there is below the clinic's.
                let laptopOrigin = served.laptop.store.identity.origin.text
                #expect(slice[laptopOrigin] < clinic[laptopOrigin])
            }
        }
    }

    @Test("bad input over HTTP gets the same answer on both backends: a forged event 422 refused naming the event and its record, nothing stored, the next good push stored", arguments: Backend.allCases)
    func badInputIsRefusedTheSame(_ backend: Backend) async throws {
        try await TemporaryDirectory.with { directory in
            let served = try ServedClinic(in: directory)
            let recorded = try served.laptop.store.record(
                [try Fixtures.painDraft(patient: "p-1", score: 4), try Fixtures.painDraft(patient: "p-1", score: 5)],
                signedBy: served.laptop.key)
            let honest = recorded[1].event
            let forged = Event(
                id: honest.id, origin: honest.origin, originSeq: honest.originSeq, prev: honest.prev,
                patientPrev: honest.patientPrev, hlc: honest.hlc, occurredAt: honest.occurredAt, patient: honest.patient,
                type: honest.type, schemaVersion: honest.schemaVersion, author: honest.author,
                dictionary: honest.dictionary, body: honest.body, hash: honest.hash,
                signature: try DeviceKey().signature(for: honest.hash.bytes))
            try await withServer(backend, device: served.clinic.root) { server in
                let (before, _) = try await server.server.log.summary(.full)
                let refused = try await rawRequest(
                    "POST", server.url("/v1/sync/push"), token: served.laptopToken,
                    body: try SyncWire.encodeBatch([EventWireCodec.encode(recorded[0].event), EventWireCodec.encode(forged)]))
                #expect(refused.status == 422)
                #expect(refused.errorCode == "refused")
                #expect(refused.errorMessage?.contains("signature does not verify") == true)
                #expect(refused.json?["error"]?["event"]?.stringValue == honest.id.text)
                #expect(refused.json?["error"]?["record"]?.integerValue == 2)
                #expect(try await server.server.log.summary(.full).0 == before)
                let truncated = try await rawRequest(
                    "POST", server.url("/v1/sync/push"), token: served.laptopToken,
                    body: Array(try SyncWire.encodeBatch([EventWireCodec.encode(recorded[0].event)]).dropLast(5)))
                #expect(truncated.status == 400)
                let stored = try await rawRequest(
                    "POST", server.url("/v1/sync/push"), token: served.laptopToken,
                    body: try SyncWire.encodeBatch(recorded.map { EventWireCodec.encode($0.event) }))
                #expect(stored.status == 200, "\(stored.text)")
                #expect(stored.json?["new"]?.integerValue == 2)
            }
        }
    }

    @Test("a read-only server serves summaries and pulls, and refuses pushes and enrollments with 403 read-only-server", arguments: Backend.allCases)
    func readOnlyServer(_ backend: Backend) async throws {
        try await TemporaryDirectory.with { directory in
            var random = SeededGenerator(seed: 7)
            let served = try ServedClinic(in: directory)
            try ClinicalDrafts.record(3, on: served.clinic.root, patients: ["p-1"], using: &random)
            try await withServer(backend, device: served.clinic.root, readOnly: true) { server in
                try ClinicalDrafts.record(2, on: served.laptop, patients: ["p-1"], using: &random)
                let error = await #expect(throws: SyncError.self) {
                    try await served.sync(served.laptop, served.laptopToken, server)
                }
                #expect(error?.message.contains("read-only") == true)
                // What the server holds reached the laptop before its push was refused.
                #expect(
                    try served.laptop.store.versionVector()[served.clinic.root.store.identity.origin.text]
                        == (try served.clinic.root.store.versionVector()[served.clinic.root.store.identity.origin.text]))
                let enroll = try await rawRequest(
                    "POST", server.url("/v1/devices"), token: served.laptopToken,
                    body: Array(#"{"name":"tablet","role":"clinic","publicKey":"\#(DeviceKey().publicKey.base64)"}"#.utf8))
                #expect(enroll.status == 403)
                #expect(enroll.errorCode == "read-only-server")
                let health = try await rawRequest("GET", server.url("/healthz"))
                #expect(health.json?["readOnly"] == .bool(true))
                #expect(health.json?["backend"]?.stringValue == backend.rawValue)
            }
        }
    }

    @Test(
        "a patient's state, the alerts and the patient's FHIR record answer the same on both backends (the read models in PostgreSQL, kept at every push), and a bulk export starts on both",
        arguments: Backend.allCases)
    func readModelRoutes(_ backend: Backend) async throws {
        try await TemporaryDirectory.with { directory in
            var random = SeededGenerator(seed: 11)
            let served = try ServedClinic(in: directory)
            try ClinicalDrafts.record(3, on: served.clinic.root, patients: ["p-1"], using: &random)
            // Alerts that must show on both: a side effect reported by a patient with no injection on record.
            var report = CatalogExamples.sideEffectReported
            report.onset = .now()
            report.reporter = Reporter(role: .patient, id: "p-2")
            report.relatedInjection = nil
            try served.clinic.root.store.record(
                [
                    try EventDraft(
                        report, patient: try PatientID(checked: "p-2"), occurredAt: report.onset,
                        author: Author(id: "p-2", role: .patient))
                ],
                signedBy: served.clinic.root.key)
            let expected = try served.clinic.root.projected.openAlerts()
            #expect(!expected.isEmpty)
            try await withServer(backend, device: served.clinic.root) { server in
                let state = try await rawRequest("GET", server.url("/v1/patients/p-1"), token: served.laptopToken)
                #expect(state.status == 200, "\(state.text)")
                #expect(state.json?["patient"]?.stringValue == "p-1")
                let alerts = try await rawRequest("GET", server.url("/v1/alerts"), token: served.laptopToken)
                #expect(alerts.status == 200, "\(alerts.text)")
                guard case .array(let listed)? = alerts.json?["alerts"] else {
                    Issue.record("no alerts array: \(alerts.text)")
                    return
                }
                let kinds = listed.compactMap { $0["kind"]?.stringValue }
                #expect(kinds == expected.map(\.kind))
                let missing = try await rawRequest("GET", server.url("/v1/patients/p-9"), token: served.laptopToken)
                #expect(missing.status == 404)
                // A patient's FHIR record: the same Bundle, byte for byte, as the store's export gives.
                let fhir = try await rawRequest("GET", server.url("/v1/fhir/Patient/p-1/$everything"), token: served.laptopToken)
                #expect(fhir.status == 200, "\(fhir.text)")
                let bundle = try FHIRExport.patientBundle(
                    of: "p-1", from: served.clinic.root.store, options: FHIRExportOptions(base: server.url("/v1/fhir")))
                #expect(fhir.text == String(decoding: bundle.bytes, as: UTF8.self))
                let nobody = try await rawRequest("GET", server.url("/v1/fhir/Patient/p-9/$everything"), token: served.laptopToken)
                #expect(nobody.status == 404)
                #expect(nobody.errorCode == "no-such-patient")
                // The bulk export starts on either (FHIRBulkExportTests compares its files with the CLI's).
                let bulk = try await rawRequest(
                    "GET", server.url("/v1/fhir/$export"), token: served.laptopToken, headers: ["Prefer": "respond-async"])
                #expect(bulk.status == 202, "\(bulk.text)")
            }
        }
    }

    @Test(
        "the clinic's pages answer on both backends: today, alerts, devices and a patient's page; an alert cleared through the form is recorded by the server's device and leaves the alerts",
        arguments: Backend.allCases)
    func pages(_ backend: Backend) async throws {
        try await TemporaryDirectory.with { directory in
            let clinic = try await PageClinic.make(in: directory)
            try await withServer(backend, projected: clinic.projected, key: clinic.key) { server in
                let browser = PageClient(server)
                try await browser.signIn(clinic.clinicToken)
                let today = try await browser.get("/ui/today")
                #expect(today.status == 200)
                #expect(today.text.contains(PageClinic.todayPatient.text))
                let alerts = try await browser.get("/ui/alerts")
                #expect(alerts.status == 200)
                #expect(alerts.text.contains(PageClinic.alertPatient.text))
                let devices = try await browser.get("/ui/devices")
                #expect(devices.status == 200)
                #expect(devices.text.contains("p1-tablet"))
                let path = "/ui/patients/\(PageClinic.alertPatient)"
                let before = try await browser.get(path)
                #expect(before.status == 200)
                #expect(before.text.contains("The next injection is blocked."))
                #expect(try await browser.get("/ui/patients/p-0999").status == 404)
                let csrf = try #require(PageClient.csrf(in: before.text))
                let fields = try #require(PageClient.clearFields(in: before.text))
                let cleared = try await browser.post(
                    path + "/clear-alert",
                    [
                        ("csrf", csrf), ("kind", fields.kind), ("raisedBy", fields.raisedBy), ("clinician", "prac-0012"),
                        ("reason", "Seen in clinic: afebrile"),
                    ])
                #expect(cleared.status == 303, "\(cleared.text)")
                let location = try #require(cleared.header("Location"))
                let after = try await browser.get(String(location.prefix { $0 != "#" }))
                #expect(after.text.contains("No open alert blocks the next injection."))
                let listed = try await rawRequest("GET", server.url("/v1/alerts"), token: clinic.clinicToken)
                #expect(!listed.text.contains("\"patient\":\"\(PageClinic.alertPatient)\""), "\(listed.text)")
            }
        }
    }
}
