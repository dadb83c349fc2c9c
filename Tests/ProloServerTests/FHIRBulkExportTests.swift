import Foundation
import ProloDomain
import ProloExport
import ProloPostgres
import ProloStore
import ProloTestSupport
import Testing

@testable import ProloServer

/// FHIR Bulk Data over a real server on loopback: kick-off, polling, manifest, downloads and deletion, against the
/// CLI's export of the same store.
@Suite("FHIR Bulk Data $export over HTTP")
struct FHIRBulkExportTests {
    /// A clinic with three patients' records, an auditor, a replica and p-1's home device; tokens by scope.
    static func clinic(in directory: TemporaryDirectory) throws -> (ClinicFixture, [String: String]) {
        let clinic = try ClinicFixture(in: directory)
        let root = clinic.root
        try clinic.addDevice("auditor", role: .audit)
        try clinic.addDevice("server-2", role: .replica)
        try clinic.addDevice("home-1", role: .home, patient: "p-1")
        for (offset, patient) in [PatientID("p-1"), "p-2", "p-3"].enumerated() {
            let start = 1_790_000_000_000 + Int64(offset) * 3_600_000
            _ = try root.store.record(
                [
                    try Fixtures.draft(CatalogExamples.patientRegistered, patient: patient, at: start),
                    try Fixtures.draft(CatalogExamples.consentRecorded, patient: patient, at: start + 60_000),
                    try Fixtures.draft(CatalogExamples.examRecorded, patient: patient, at: start + 120_000),
                    try Fixtures.painDraft(patient: patient, score: 4 + offset, at: start + 180_000),
                ], signedBy: root.key)
        }
        var tokens: [String: String] = [:]
        for (device, scope) in [
            ("root", "clinic"), ("auditor", "audit"), ("server-2", "replica"), ("home-1", "patient:p-1"),
        ] {
            tokens[scope] = try root.store.issueToken(device: device, scope: scope, expiresAt: nil).1
        }
        return (clinic, tokens)
    }

    /// Kicks off an export with `query` and returns the status URL.
    static func kickOff(_ server: TestServer, token: String?, query: String = "") async throws -> String {
        let response = try await rawRequest(
            "GET", server.url("/v1/fhir/$export" + query), token: token, headers: ["Prefer": "respond-async"])
        try #require(response.status == 202, "\(response.status) \(response.text.prefix(300))")
        return try #require(response.header("Content-Location"))
    }

    /// Polls `status` until it is no longer 202 (checking each 202 says how far it got); returns the last answer.
    static func poll(_ status: String, token: String?) async throws -> RawResponse {
        for _ in 0..<600 {
            let response = try await rawRequest("GET", status, token: token)
            guard response.status == 202 else { return response }
            #expect(response.header("X-Progress")?.isEmpty == false)
            #expect(response.header("Retry-After") == "1")
            try await Task.sleep(for: .milliseconds(20))
        }
        throw HarnessError("the export at \(status) did not finish in 12 s")
    }

    @Test(
        "kick-off, poll, manifest and each file's download give the resources prolo export fhir --all --bulk writes of the same store, on either backend (the hub's database read through the server)",
        arguments: Backend.allCases)
    func kickOffPollDownload(_ backend: Backend) async throws {
        try await TemporaryDirectory.with { directory in
            let (clinic, tokens) = try Self.clinic(in: directory)
            let root = clinic.root
            var configuration = ClinicServerConfiguration()
            configuration.bulkExportDirectory = directory.file("bulk")
            var downloaded: [String: [UInt8]] = [:]
            var transactionTime = ""
            var log: [AccessRecord] = []
            try await withServer(backend, device: root, configuration: configuration) { server in
                let status = try await Self.kickOff(server, token: tokens["clinic"])
                #expect(status.hasPrefix(server.url("/v1/fhir/$export/")))
                let done = try await Self.poll(status, token: tokens["clinic"])
                #expect(done.status == 200, "\(done.text.prefix(300))")
                #expect(done.header("Content-Type") == "application/json")
                let manifest = try #require(done.json)
                transactionTime = manifest["transactionTime"]?.stringValue ?? ""
                #expect((try? Timestamp(checked: transactionTime)) != nil)
                #expect(manifest["request"]?.stringValue == server.url("/v1/fhir/$export"))
                #expect(manifest["requiresAccessToken"] == .bool(true))
                #expect(manifest["error"] == .array([]))
                let outputs = manifest["output"]?.items ?? []
                #expect(outputs.count >= 4)
                for output in outputs {
                    let type = try #require(output["type"]?.stringValue)
                    let url = try #require(output["url"]?.stringValue)
                    #expect(url == status + "/\(type).ndjson")
                    #expect(FHIRBulkExport.resourceTypes.contains(type))
                    let file = try await rawRequest("GET", url, token: tokens["clinic"])
                    #expect(file.status == 200)
                    #expect(file.header("Content-Type") == "application/fhir+ndjson")
                    let lines = file.body.split(separator: 0x0A)
                    #expect(lines.count == Int(output["count"]?.integerValue ?? -1))
                    for line in lines {
                        let resource = try JSONParser.parse(Array(line))
                        #expect(resource["resourceType"]?.stringValue == type)
                    }
                    downloaded[type] = file.body
                    // The files need the token, and are the starting token's alone.
                    #expect(try await rawRequest("GET", url).status == 401)
                    #expect(try await rawRequest("GET", url, token: tokens["audit"]).status == 404)
                }
                #expect(try await rawRequest("GET", status, token: tokens["audit"]).status == 404)
                // Not a path the manifest lists.
                for name in ["Binary.ndjson", "..%2Froot.sqlite", "manifest.json"] {
                    #expect(try await rawRequest("GET", status + "/" + name, token: tokens["clinic"]).status == 404)
                }
                // A response leaves once its access-log line is written: the server's log (the store's or the hub's)
                // holds every line now.
                log = try await server.server.log.accessLog()
            }
            // The CLI's bulk export of the same store: the same types, counts and bytes.
            let cli = directory.file("cli")
            let result = try CommandRunner.prolo(["export", "fhir", "--all", "--bulk", cli, "--store", root.store.path])
            try #require(result.status == 0, "prolo export fhir --all --bulk: \(result.stderr)")
            let cliManifest = try JSONParser.parse(
                Array(try Data(contentsOf: URL(fileURLWithPath: cli + "/manifest.json"))))
            var cliCounts: [String: Int] = [:]
            for output in cliManifest["output"]?.items ?? [] {
                cliCounts[output["type"]?.stringValue ?? "?"] = Int(output["count"]?.integerValue ?? 0)
            }
            switch backend {
            case .sqlite: #expect(cliManifest["transactionTime"]?.stringValue == transactionTime)
            case .postgresql:
                // Held behind the hub's clock by the margin concurrent writers need (PostgresLog.arrivalMargin).
                let cliTime = try #require(cliManifest["transactionTime"]?.stringValue.flatMap { try? Timestamp(checked: $0) })
                let hubTime = try Timestamp(checked: transactionTime)
                #expect(hubTime <= cliTime)
                #expect(cliTime.millisecondsSinceEpoch - hubTime.millisecondsSinceEpoch <= PostgresLog.arrivalMargin + 60_000)
            }
            #expect(Set(cliCounts.keys) == Set(downloaded.keys))
            for (type, bytes) in downloaded {
                #expect(bytes.split(separator: 0x0A).count == cliCounts[type], "\(type)")
                let cliBytes = Array(try Data(contentsOf: URL(fileURLWithPath: cli + "/\(type).ndjson")))
                #expect(bytes == cliBytes, "\(type).ndjson differs from the CLI's")
            }
            #expect(cliCounts["Patient"] == 3)

            // The access log: the kick-off, each patient read by the job, each download.
            let kickOffs = log.filter { $0.route == "/v1/fhir/$export" && $0.purpose == "export-fhir-bulk-kickoff" }
            #expect(kickOffs.count == 1 && kickOffs.first?.scope == "clinic" && kickOffs.first?.status == 202)
            let reads = log.filter { $0.purpose == "export-fhir-bulk" && $0.scope == "clinic" }
            #expect(Set(reads.compactMap(\.patient)) == ["p-1", "p-2", "p-3"])
            #expect(reads.allSatisfy { $0.token == kickOffs.first?.token && $0.requestID == kickOffs.first?.requestID })
            let downloads = log.filter { $0.purpose == "export-fhir-bulk-download" && $0.outcome == "ok" }
            #expect(downloads.count == downloaded.count)
            #expect(
                log.filter { $0.route == "/v1/fhir/$export/{job}/{file}" && $0.outcome == "unauthenticated" }.count
                    == downloaded.count)
        }
    }

    @Test(
        "a patient or replica token gets 403, no token 401, no Prefer or a bad parameter 400, an unknown job 404; DELETE removes the job and its files"
    )
    func refusalsAndDeletion() async throws {
        try await TemporaryDirectory.with { directory in
            let (clinic, tokens) = try Self.clinic(in: directory)
            var configuration = ClinicServerConfiguration()
            let jobs = directory.file("bulk")
            configuration.bulkExportDirectory = jobs
            try await withServer(device: clinic.root, configuration: configuration) { server in
                let kickOff = server.url("/v1/fhir/$export")
                for scope in ["patient:p-1", "replica"] {
                    let refused = try await rawRequest(
                        "GET", kickOff, token: tokens[scope], headers: ["Prefer": "respond-async"])
                    #expect(refused.status == 403 && refused.errorCode == "out-of-scope", "\(scope)")
                }
                #expect(try await rawRequest("GET", kickOff, headers: ["Prefer": "respond-async"]).status == 401)
                let synchronous = try await rawRequest("GET", kickOff, token: tokens["clinic"])
                #expect(synchronous.status == 400 && synchronous.errorCode == "respond-async")
                for query in ["?_type=Patient,Binary", "?_type=", "?_since=yesterday", "?_outputFormat=text/csv"] {
                    let refused = try await rawRequest(
                        "GET", kickOff + query, token: tokens["clinic"], headers: ["Prefer": "respond-async"])
                    #expect(refused.status == 400 && refused.hasErrorBody, "\(query): \(refused.status)")
                }
                let unknown = server.url("/v1/fhir/$export/" + String(repeating: "ab", count: 16))
                for (method, url) in [("GET", unknown), ("DELETE", unknown), ("GET", unknown + "/Patient.ndjson")] {
                    let missing = try await rawRequest(method, url, token: tokens["audit"])
                    #expect(missing.status == 404 && missing.errorCode == "no-such-job", "\(method) \(url)")
                    #expect(try await rawRequest(method, url, token: tokens["patient:p-1"]).status == 403)
                }

                // _type and _since shape the export; an instant with an offset reads as the instant it names.
                let typed = try await Self.poll(
                    try await Self.kickOff(server, token: tokens["audit"], query: "?_type=Patient,Observation"),
                    token: tokens["audit"])
                let types = (typed.json?["output"]?.items ?? []).compactMap { $0["type"]?.stringValue }
                #expect(Set(types) == ["Patient", "Observation"])
                let future = try await Self.poll(
                    try await Self.kickOff(
                        server, token: tokens["audit"], query: "?_since=2999-01-01T01:00:00.5%2B01:00"),
                    token: tokens["audit"])
                #expect(future.status == 200 && future.json?["output"]?.items.isEmpty == true)

                // DELETE: 202, then the job and its files are gone.
                let status = try await Self.kickOff(server, token: tokens["clinic"])
                let manifest = try #require(try await Self.poll(status, token: tokens["clinic"]).json)
                let file = try #require(manifest["output"]?.items.first?["url"]?.stringValue)
                let id = String(status.split(separator: "/").last ?? "")
                #expect(FileManager.default.fileExists(atPath: jobs + "/" + id))
                #expect(try await rawRequest("DELETE", status, token: tokens["audit"]).status == 404)
                #expect(try await rawRequest("DELETE", status, token: tokens["clinic"]).status == 202)
                #expect(!FileManager.default.fileExists(atPath: jobs + "/" + id))
                #expect(try await rawRequest("GET", status, token: tokens["clinic"]).status == 404)
                #expect(try await rawRequest("GET", file, token: tokens["clinic"]).status == 404)
                #expect(try await rawRequest("DELETE", status, token: tokens["clinic"]).status == 404)

                // Deleted at once, queued, running or done: its directory goes all the same.
                let hasty = try await Self.kickOff(server, token: tokens["clinic"])
                #expect(try await rawRequest("DELETE", hasty, token: tokens["clinic"]).status == 202)
                let hastyID = String(hasty.split(separator: "/").last ?? "")
                for _ in 0..<250 where FileManager.default.fileExists(atPath: jobs + "/" + hastyID) {
                    try await Task.sleep(for: .milliseconds(20))
                }
                #expect(!FileManager.default.fileExists(atPath: jobs + "/" + hastyID))
            }
            let log = try clinic.root.store.accessLog().filter { $0.route.hasPrefix("/v1/fhir/$export") }
            let forbidden = log.filter { $0.outcome == "forbidden" }
            #expect(forbidden.count == 5 && forbidden.allSatisfy { $0.scope == "patient:p-1" || $0.scope == "replica" })
            let deletes = log.filter { $0.purpose == "export-fhir-bulk-delete" }
            #expect(deletes.count == 2)
        }
    }

    @Test("a finished job past its retention is removed, and so is a directory a restart left behind")
    func retention() async throws {
        try await TemporaryDirectory.with { directory in
            let (clinic, tokens) = try Self.clinic(in: directory)
            var configuration = ClinicServerConfiguration()
            let jobs = directory.file("bulk")
            configuration.bulkExportDirectory = jobs
            // Long enough that a loaded machine (CI, every suite at once) still polls the finished job before it
            // goes: with 2 s a CI run once saw 404 at the first poll after the job finished.
            configuration.bulkExportRetention = .seconds(6)
            let leftover = jobs + "/" + String(repeating: "cd", count: 16)
            try FileManager.default.createDirectory(atPath: leftover, withIntermediateDirectories: true)
            try Data("{}\n".utf8).write(to: URL(fileURLWithPath: leftover + "/Patient.ndjson"))
            try await withServer(device: clinic.root, configuration: configuration) { server in
                let status = try await Self.kickOff(server, token: tokens["clinic"])
                #expect(!FileManager.default.fileExists(atPath: leftover))
                #expect(try await Self.poll(status, token: tokens["clinic"]).status == 200)
                try await Task.sleep(for: .milliseconds(6500))
                #expect(try await rawRequest("GET", status, token: tokens["clinic"]).status == 404)
                #expect((try FileManager.default.contentsOfDirectory(atPath: jobs)).isEmpty)
            }
        }
    }

    @Test("_since reads a FHIR instant in any zone, to the millisecond")
    func sinceInstants() {
        let cases: [(String, String?)] = [
            ("2026-03-02T09:30:00Z", "2026-03-02T09:30:00.000Z"),
            ("2026-03-02T10:30:00.123456+01:00", "2026-03-02T09:30:00.123Z"),
            ("2026-03-02t04:00:00-05:30", "2026-03-02T09:30:00.000Z"),
            ("2016-12-31T23:59:60Z", "2016-12-31T23:59:59.000Z"),
            ("2026-03-02T09:30:00", nil), ("2026-03-02", nil), ("2026-02-30T09:30:00Z", nil),
            ("2026-03-02T09:30:00+1:00", nil), ("2026-03-02T09:30:00.Z", nil), ("yesterday", nil),
        ]
        for (text, expected) in cases {
            #expect(ClinicServer.instant(text)?.text == expected, "\(text)")
        }
    }
}

extension JSONValue {
    /// The elements of an array; none otherwise.
    fileprivate var items: [JSONValue] { if case .array(let items) = self { items } else { [] } }
}
