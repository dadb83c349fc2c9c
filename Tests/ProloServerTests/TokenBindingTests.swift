import Foundation
import ProloDomain
import ProloProjections
import ProloServer
import ProloStore
import ProloSync
import ProloTestSupport
import Testing

/// Tokens name their device by the origin of its key, never by its name (DESIGN §7), and the library refuses a
/// scope that does not fit the device.
@Suite("Tokens bound to device keys")
struct TokenBindingTests {
    /// The events a pull from nothing returns to `token`.
    static func pulled(_ server: TestServer, token: String) async throws -> [Event] {
        try await PatientScopeTests.pullAll(server, token: token, vector: VersionVector())
    }

    /// Pushes `events` with `token`; returns the JSON answer.
    static func push(_ events: [Event], token: String, to server: TestServer) async throws -> RawResponse {
        try await rawRequest(
            "POST", server.url("/v1/sync/push"), token: token,
            body: try SyncWire.encodeBatch(events.map(EventWireCodec.encode)), contentType: SyncWire.batchContentType)
    }

    /// A device whose store is `file`, enrolled on the root under `name` (which other devices may share).
    @discardableResult
    static func addDevice(
        _ file: String, enrolledAs name: String, role: DeviceEnrolled.Role, patient: PatientID? = nil,
        in clinic: ClinicFixture
    ) throws -> ClinicFixture.Device {
        let device = try clinic.addDevice(file, role: role, patient: patient, enroll: false)
        let payload = DeviceEnrolled(
            deviceName: try Label(checked: name), publicKey: try PublicKeyBase64(checked: device.key.publicKey.base64),
            role: role, patient: patient, enrolledBy: try Identifier(checked: clinic.root.store.identity.origin.text))
        try clinic.root.store.record(
            [try EventDraft(payload, patient: nil, occurredAt: .now(), author: Author(id: "admin-1", role: .admin))],
            signedBy: clinic.root.key)
        return device
    }

    @Test(
        "two home devices enrolled with the same name get distinct tokens by origin, and each authenticates as its own device: its patient's slice, its own pushes, the other's refused"
    )
    func sameNameDistinctDevices() async throws {
        try await TemporaryDirectory.with { directory in
            var random = SeededGenerator(seed: 4)
            let clinic = try ClinicFixture(in: directory)
            let root = clinic.root
            try ClinicalDrafts.record(6, on: root, patients: ["p-1", "p-2"], using: &random)
            let first = try Self.addDevice("tablet-a", enrolledAs: "tablet", role: .home, patient: "p-1", in: clinic)
            let second = try Self.addDevice("tablet-b", enrolledAs: "tablet", role: .home, patient: "p-2", in: clinic)

            // The name alone is ambiguous: refused, naming both origins.
            let ambiguous = #expect(throws: StoreError.self) {
                try root.store.issueToken(device: "tablet", scope: "patient:p-1", expiresAt: nil)
            }
            #expect(
                ambiguous?.message.contains(first.store.identity.origin.text) == true, "\(ambiguous?.message ?? "-")")
            #expect(ambiguous?.message.contains(second.store.identity.origin.text) == true)
            let (firstToken, firstSecret) = try root.store.issueToken(
                for: first.store.identity.origin, scope: .patient("p-1"), expiresAt: nil)
            let (secondToken, secondSecret) = try root.store.issueToken(
                device: second.store.identity.origin.text, scope: "patient:p-2", expiresAt: nil)
            #expect(firstToken.origin == first.store.identity.origin)
            #expect(secondToken.origin == second.store.identity.origin)
            #expect(firstToken.device == "tablet" && secondToken.device == "tablet")
            #expect(firstSecret != secondSecret)

            let firstOwn = try ClinicalDrafts.record(3, on: first, patients: [], using: &random).map(\.event)
            let secondOwn = try ClinicalDrafts.record(2, on: second, patients: [], using: &random).map(\.event)
            try await withServer(device: root) { server in
                let cases: [(ClinicFixture.Device, String, PatientID, PatientID)] = [
                    (first, firstSecret, "p-1", "p-2"), (second, secondSecret, "p-2", "p-1"),
                ]
                for (device, secret, patient, other) in cases {
                    let events = try await Self.pulled(server, token: secret)
                    #expect(events.contains { $0.patient == patient }, "\(device.homePatient!) got nothing")
                    #expect(
                        !events.contains { $0.patient == other },
                        "the token of \(patient)'s tablet got \(other)'s events")
                    let own = try await rawRequest("GET", server.url("/v1/patients/\(patient)"), token: secret)
                    #expect(own.status == 200, "\(own.text)")
                    let foreign = try await rawRequest("GET", server.url("/v1/patients/\(other)"), token: secret)
                    #expect(foreign.status == 403)
                }
                // Each pushes its own events: all admitted.
                let firstPush = try await Self.push(firstOwn, token: firstSecret, to: server)
                #expect(firstPush.json?["new"] == .int(Int64(firstOwn.count)), "\(firstPush.text)")
                let secondPush = try await Self.push(secondOwn, token: secondSecret, to: server)
                #expect(secondPush.json?["new"] == .int(Int64(secondOwn.count)), "\(secondPush.text)")
            }
            let held = try eventIDs(root.store)
            #expect(Set(firstOwn.map(\.id) + secondOwn.map(\.id)).isSubset(of: held))
            #expect(try root.store.quarantine().isEmpty)
        }
    }

    @Test(
        "one device's token pushing the other same-named device's events gets them quarantined as not its own"
    )
    func sameNameOtherDevicesEventsRefused() async throws {
        try await TemporaryDirectory.with { directory in
            var random = SeededGenerator(seed: 5)
            let clinic = try ClinicFixture(in: directory)
            let root = clinic.root
            let first = try Self.addDevice("tablet-a", enrolledAs: "tablet", role: .home, patient: "p-1", in: clinic)
            let second = try Self.addDevice("tablet-b", enrolledAs: "tablet", role: .home, patient: "p-1", in: clinic)
            let secret = try root.store.issueToken(
                for: first.store.identity.origin, scope: .patient("p-1"), expiresAt: nil
            ).1
            let secondOwn = try ClinicalDrafts.record(2, on: second, patients: [], using: &random).map(\.event)
            let count = try root.store.count()
            try await withServer(device: root) { server in
                let response = try await Self.push(secondOwn, token: secret, to: server)
                #expect(response.status == 200, "\(response.text)")
                #expect(response.json?["new"] == .int(0), "\(response.text)")
            }
            #expect(try root.store.count() == count)
            let waiting = try root.store.quarantine()
            #expect(Set(waiting.map(\.id)) == Set(secondOwn.map(\.id)))
            #expect(
                waiting.allSatisfy { $0.reason.contains(first.store.identity.origin.text) }, "\(waiting.map(\.reason))")
        }
    }

    @Test(
        "the library refuses a patient token for a non-home device or another patient's home device, and any other scope for a home device"
    )
    func libraryRefusesMisfittingScopes() throws {
        try TemporaryDirectory.with { directory in
            let clinic = try ClinicFixture(in: directory)
            let root = clinic.root
            let laptop = try clinic.addDevice("laptop", role: .clinic)
            let home2 = try clinic.addDevice("home-2", role: .home, patient: "p-2")
            let refusals: [(String, String)] = [
                ("laptop", "patient:p-1"), ("home-2", "patient:p-1"), ("home-2", "clinic"), ("home-2", "audit"),
                (laptop.store.identity.origin.text, "patient:p-2"),
            ]
            for (device, scope) in refusals {
                let error = #expect(throws: StoreError.self, "\(scope) for \(device)") {
                    try root.store.issueToken(device: device, scope: scope, expiresAt: nil)
                }
                #expect(error?.code == .permissionDenied, "\(error?.message ?? "-")")
                #expect(error?.message.contains("home device") == true, "\(error?.message ?? "-")")
            }
            let laptopRecord = try #require(try root.store.registry().devices[laptop.store.identity.origin])
            let refusal = #expect(throws: AccessError.self) {
                _ = try DeviceAccess(granting: .patient("p-1"), to: laptopRecord)
            }
            #expect(refusal?.code == .scopeNotAllowed)
            #expect(throws: StoreError.self) {
                try root.store.issueToken(for: home2.store.identity.origin, scope: .patient("p-1"), expiresAt: nil)
            }
            #expect(try root.store.tokens().isEmpty, "a refused token was stored")
            // What fits is issued.
            let issued = try root.store.issueToken(device: "home-2", scope: "patient:p-2", expiresAt: nil).0
            #expect(issued.origin == home2.store.identity.origin)
            #expect(throws: StoreError.self) {
                try root.store.issueToken(device: "no-such-device", scope: "clinic", expiresAt: nil)
            }
        }
    }

    @Test("a token of a device revoked after it was issued is forbidden on every route that needs a token")
    func revokedDevicesTokenIsForbidden() async throws {
        try await TemporaryDirectory.with { directory in
            let clinic = try ClinicFixture(in: directory)
            let root = clinic.root
            let laptop = try clinic.addDevice("laptop", role: .clinic)
            let home = try clinic.addDevice("home-1", role: .home, patient: "p-1")
            let laptopToken = try root.store.issueToken(device: "laptop", scope: "clinic", expiresAt: nil).1
            let homeToken = try root.store.issueToken(device: "home-1", scope: "patient:p-1", expiresAt: nil).1
            try clinic.revoke(laptop)
            try clinic.revoke(home)
            #expect(throws: StoreError.self) {
                try root.store.issueToken(device: "laptop", scope: "clinic", expiresAt: nil)
            }
            try await withServer(device: root) { server in
                for token in [laptopToken, homeToken] {
                    let pull = try await rawRequest(
                        "POST", server.url("/v1/sync/pull"), token: token, body: jsonBytes(["vector": .object([:])]),
                        contentType: "application/json")
                    #expect(pull.status == 403, "\(pull.text)")
                    #expect(pull.errorCode == "device-revoked", "\(pull.text)")
                    #expect(pull.errorMessage?.contains("revoked") == true)
                }
            }
            let forbidden = try root.store.accessLog().filter { $0.outcome == "forbidden" }
            #expect(forbidden.count == 2 && forbidden.allSatisfy { $0.token != nil && $0.scope != nil })
        }
    }

    @Test(
        "tokens issued by name before migration 5 are bound to the one device of that name; a name two devices share leaves its token refused with a message to issue a new one"
    )
    func migrationBindsOldTokens() async throws {
        try await TemporaryDirectory.with { directory in
            let clinic = try ClinicFixture(in: directory)
            let root = clinic.root
            let laptop = try clinic.addDevice("laptop", role: .clinic)
            let tablet = try Self.addDevice("tablet-a", enrolledAs: "tablet", role: .clinic, in: clinic)
            let laptopSecret = try root.store.issueToken(device: "laptop", scope: "clinic", expiresAt: nil).1
            let tabletSecret = try root.store.issueToken(device: "tablet", scope: "clinic", expiresAt: nil).1
            // A second device named tablet, then the store as migration 4 left it: tokens name devices by name.
            try Self.addDevice("tablet-b", enrolledAs: "tablet", role: .clinic, in: clinic)
            let path = root.store.path
            do {
                let connection = try SQLiteConnection(path: path)
                try connection.execute("ALTER TABLE tokens DROP COLUMN origin; PRAGMA user_version = 4;")
            }
            let reopened = try ProjectedStore.open(at: path)
            let tokens = Dictionary(uniqueKeysWithValues: try reopened.store.tokens().map { ($0.device, $0) })
            #expect(tokens["laptop"]?.origin == laptop.store.identity.origin)
            #expect(tokens["tablet"] != nil && tokens["tablet"]?.origin == nil)
            _ = tablet

            let server = try await TestServer.start(projected: reopened, key: root.key)
            do {
                let devices = try await rawRequest("GET", server.url("/v1/devices"), token: laptopSecret)
                #expect(devices.status == 200, "\(devices.text)")
                let refused = try await rawRequest("GET", server.url("/v1/devices"), token: tabletSecret)
                #expect(refused.status == 401, "\(refused.text)")
                #expect(refused.errorMessage?.contains("issue a new one") == true, "\(refused.text)")
            } catch {
                try? await server.stop()
                throw error
            }
            try await server.stop()
        }
    }
}
