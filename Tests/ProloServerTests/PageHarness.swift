import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import ProloDomain
import ProloProjections
import ProloServer
import ProloStore
import ProloTestSupport

/// The demo story's store (`prolo demo story`, run for real) with three more patients recorded around today, a
/// home device for the story's patient, and a token of each kind, for the web-page tests.
///
/// - `p-0001`: the story: a closed course, a cleared alert, an amended pain report and a retracted booking.
/// - `p-0002`: injected 10 days ago, a fever the next day: an open possible-infection alert (blocks the next
///   injection); the next window opens in 4 days.
/// - `p-0003`: injected 30 days ago: overdue.
/// - `p-0004`: injected 15 days ago: due today.
struct PageClinic {
    let projected: ProjectedStore
    let key: DeviceKey
    let clinicToken: String
    let auditToken: String
    let patientToken: String
    /// A clinic token revoked before any test uses it.
    let revokedToken: String
    /// The id of a clinic token revoked by ``revokeLater``.
    let laterTokenID: String
    let laterToken: String

    static let storyPatient: PatientID = "p-0001"
    static let alertPatient: PatientID = "p-0002"
    static let overduePatient: PatientID = "p-0003"
    static let todayPatient: PatientID = "p-0004"
    static let day: Int64 = 86_400_000

    var store: EventStore { projected.store }

    /// The clinic, made on a Dispatch thread: `prolo demo story` runs as a child process, and waiting for it must not
    /// hold one of the cooperative pool's threads, which the servers of tests running alongside need.
    static func make(in directory: TemporaryDirectory) async throws -> PageClinic {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(with: Result { try PageClinic(in: directory) }) }
        }
    }

    private init(in directory: TemporaryDirectory) throws {
        let path = directory.file("clinic.sqlite")
        let story = try CommandRunner.prolo(["demo", "story", "--store", path])
        guard story.status == 0 else {
            throw HarnessError("prolo demo story failed (\(story.status)): \(story.stderr)")
        }
        projected = try ProjectedStore.open(at: path)
        key = try DeviceKeyFile.load(from: DeviceKeyFile.path(forStore: path))
        let now = Timestamp.now().millisecondsSinceEpoch
        try Self.course(Self.alertPatient, injectedDaysAgo: 10, fever: true, now: now, in: projected.store, key: key)
        try Self.course(Self.overduePatient, injectedDaysAgo: 30, fever: false, now: now, in: projected.store, key: key)
        try Self.course(Self.todayPatient, injectedDaysAgo: 15, fever: false, now: now, in: projected.store, key: key)
        let tablet = DeviceKey()
        let enrollment = DeviceEnrolled(
            deviceName: "p1-tablet", publicKey: try PublicKeyBase64(checked: tablet.publicKey.base64), role: .home,
            patient: Self.storyPatient, enrolledBy: "admin-0001")
        try projected.store.record(
            [
                try EventDraft(
                    enrollment, patient: nil, occurredAt: .now(), author: Author(id: "admin-0001", role: .admin))
            ],
            signedBy: key)
        let device = DemoDevice.name
        clinicToken = try projected.store.issueToken(device: device, scope: "clinic", expiresAt: nil).1
        auditToken = try projected.store.issueToken(device: device, scope: "audit", expiresAt: nil).1
        patientToken = try projected.store.issueToken(
            device: "p1-tablet", scope: "patient:\(Self.storyPatient)", expiresAt: nil
        ).1
        let revoked = try projected.store.issueToken(device: device, scope: "clinic", expiresAt: nil)
        try projected.store.revokeToken(id: revoked.0.id)
        revokedToken = revoked.1
        let later = try projected.store.issueToken(device: device, scope: "clinic", expiresAt: nil)
        laterTokenID = later.0.id
        laterToken = later.1
    }

    /// Registration, consent, exam, a six-session course and one injection `injectedDaysAgo`; with `fever`, a grade
    /// 2 fever with intense pain the day after it (possible infection).
    private static func course(
        _ patient: PatientID, injectedDaysAgo: Int64, fever: Bool, now: Int64, in store: EventStore, key: DeviceKey
    ) throws {
        let start = now - (injectedDaysAgo + 7) * day
        func at(_ milliseconds: Int64) -> Timestamp { Timestamp(millisecondsSinceEpoch: milliseconds) }
        let clinician = Author(id: CatalogExamples.clinician, role: .clinician)
        var drafts = [
            try EventDraft(CatalogExamples.consentRecorded, patient: patient, occurredAt: at(start), author: clinician),
            try EventDraft(
                CatalogExamples.examRecorded, patient: patient, occurredAt: at(start + 60_000), author: clinician),
            try EventDraft(
                CatalogExamples.coursePlanned, patient: patient, occurredAt: at(start + 120_000), author: clinician),
        ]
        let injectedAt = now - injectedDaysAgo * day
        drafts.append(
            try EventDraft(
                CatalogExamples.injectionAdministered, patient: patient, occurredAt: at(injectedAt), author: clinician))
        let injection = try store.record(drafts, signedBy: key)[3].event.id
        guard fever else { return }
        var report = CatalogExamples.sideEffectReported
        report.relatedInjection = injection
        report.onset = at(injectedAt + day)
        report.reporter = Reporter(role: .patient, id: patient)
        report.grade = 2  // grade 3 would also raise a serious adverse event; one alert keeps the test's story short
        try store.record(
            [
                try EventDraft(
                    report, patient: patient, occurredAt: report.onset, author: Author(id: patient, role: .patient))
            ],
            signedBy: key)
    }
}

/// A store of 1 000 patients (`p-0000` … `p-0999`): each with a consent and a planned course, then three random
/// clinical events (exams, injections, pain and side-effect reports) over 90 days, the same every run (seed 17); and
/// a clinic token of its one device, `clinic`.
struct ScaleClinic {
    let projected: ProjectedStore
    let key: DeviceKey
    let clinicToken: String

    init(in directory: TemporaryDirectory) throws {
        key = DeviceKey()
        projected = try ProjectedStore.create(at: directory.file("large.sqlite"), deviceName: "clinic", key: key)
        var random = SeededGenerator(seed: 17)
        let patients = (0..<1000).map { PatientID(stringLiteral: String(format: "p-%04d", $0)) }
        for round in 0..<4 {
            // Consent and a plan before the random events' 90 days (from 1_790_000_000_000 ms), then those.
            let start = Timestamp(millisecondsSinceEpoch: 1_790_000_000_000 - 86_400_000)
            let drafts = try patients.flatMap { patient in
                round == 0
                    ? [
                        try EventDraft(
                            CatalogExamples.consentRecorded, patient: patient, occurredAt: start,
                            author: Fixtures.clinician),
                        try EventDraft(
                            CatalogExamples.coursePlanned, patient: patient, occurredAt: start,
                            author: Fixtures.clinician),
                    ]
                    : [try ClinicalDrafts.random(for: patient, byPatient: false, using: &random)]
            }
            try projected.store.record(drafts, signedBy: key)
        }
        clinicToken = try projected.store.issueToken(device: "clinic", scope: "clinic", expiresAt: nil).1
    }

    /// Made on a Dispatch thread, off the cooperative pool that servers of tests running alongside need.
    static func make(in directory: TemporaryDirectory) async throws -> ScaleClinic {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(with: Result { try ScaleClinic(in: directory) }) }
        }
    }
}

/// The device name `prolo demo story` gives its store.
enum DemoDevice {
    static let name = "demo-clinic-laptop"
}

/// A browser's side of the pages for plain HTTP tests: it keeps the session cookie and never follows a redirect.
final class PageClient: Sendable {
    let baseURL: String
    private let cookie = Box<String?>(nil)

    /// One client for every test, never following redirects (a test reads each 303 itself).
    private static let http = HTTPClient(
        eventLoopGroupProvider: .singleton, configuration: HTTPClient.Configuration(redirectConfiguration: .disallow))

    init(_ server: TestServer) {
        baseURL = server.baseURL
    }

    /// The session cookie held, if any.
    var session: String? { cookie.get() }

    /// Presents `session` as the cookie from now on (a stolen or stale one, in a test).
    func use(session: String?) { cookie.set(session) }

    func get(_ path: String) async throws -> RawResponse {
        try await send("GET", path, body: nil, headers: [])
    }

    /// Posts `fields` as a form, with `headers` besides the cookie.
    func post(_ path: String, _ fields: [(String, String)], headers: [(String, String)] = []) async throws
        -> RawResponse
    {
        let body = fields.map { "\(Self.encode($0.0))=\(Self.encode($0.1))" }.joined(separator: "&")
        return try await send("POST", path, body: Array(body.utf8), headers: headers)
    }

    /// Signs in with `token`; returns the answer (303 with a cookie when it worked).
    @discardableResult
    func signIn(_ token: String) async throws -> RawResponse {
        try await post("/ui/sign-in", [("token", token)])
    }

    private func send(_ method: String, _ path: String, body: [UInt8]?, headers: [(String, String)]) async throws
        -> RawResponse
    {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = HTTPMethod(rawValue: method)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let session = cookie.get() { request.headers.add(name: "Cookie", value: "prolo_session=\(session)") }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
            request.body = .bytes(body)
        }
        let response = try await Self.http.execute(request, timeout: .seconds(30))
        let buffer = try await response.body.collect(upTo: 64 << 20)
        if let setCookie = response.headers.first(name: "Set-Cookie"), setCookie.hasPrefix("prolo_session=") {
            let value = setCookie.dropFirst("prolo_session=".count).prefix { $0 != ";" }
            cookie.set(value.isEmpty || setCookie.contains("Max-Age=0") ? nil : String(value))
        }
        return RawResponse(
            status: Int(response.status.code), headers: response.headers, body: Array(buffer.readableBytesView))
    }

    /// The CSRF token of the first form of `html`.
    static func csrf(in html: String) -> String? {
        guard let range = html.range(of: #"name="csrf" value="([0-9a-f]+)""#, options: .regularExpression) else {
            return nil
        }
        return html[range].split(separator: "\"").dropFirst(3).first.map(String.init)
    }

    /// The hidden fields `kind` and `raisedBy` of the first clear-alert form of `html`.
    static func clearFields(in html: String) -> (kind: String, raisedBy: String)? {
        func value(_ name: String) -> String? {
            guard let range = html.range(of: "name=\"\(name)\" value=\"[^\"]*\"", options: .regularExpression) else {
                return nil
            }
            return html[range].split(separator: "\"").dropFirst(3).first.map(String.init)
        }
        guard let kind = value("kind"), let raisedBy = value("raisedBy") else { return nil }
        return (kind, raisedBy)
    }

    private static func encode(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}
