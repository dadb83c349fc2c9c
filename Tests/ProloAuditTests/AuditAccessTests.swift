import Foundation
import ProloAudit
import ProloDomain
import ProloProjections
import ProloStore
import ProloTestSupport
import Testing

@Suite("audit access")
struct AuditAccessTests {
    @Test("prolo audit access lists the CLI's own audit reads (replay, timeline, report) with the patient and the purpose")
    func auditReadsAreLogged() throws {
        try TemporaryDirectory.with { directory in
            let clinic = try ClinicFixture(in: directory)
            let root = clinic.root
            let start = Timestamp.now().millisecondsSinceEpoch - 20 * AuditStory.day
            try root.store.record(
                [
                    try AuditStory.consent("p-1", at: AuditStory.at(start)),
                    try AuditStory.exam("p-1", nrs: 6, odi: 30, at: AuditStory.at(start)),
                    try AuditStory.pain("p-2", score: 3, at: AuditStory.at(start)),
                ], signedBy: root.key)
            let store = root.store.path
            let before = Timestamp(millisecondsSinceEpoch: Timestamp.now().millisecondsSinceEpoch - 1)
            let now = Timestamp.now().text
            let runs: [[String]] = [
                ["audit", "replay", "--patient", "p-1", "--as-of", now],
                ["audit", "timeline", "--patient", "p-1"],
                ["audit", "report", "--patient", "p-1", "--out", directory.file("p-1.html")],
                ["audit", "replay", "--as-of", now, "--by", "occurred"],
                ["audit", "verify"],
            ]
            for arguments in runs {
                let result = try CommandRunner.prolo(arguments + ["--store", store])
                try #require(result.status == 0, "prolo \(arguments.joined(separator: " ")): \(result.stderr)")
            }
            let after = Timestamp(millisecondsSinceEpoch: Timestamp.now().millisecondsSinceEpoch + 1)

            let listed = try CommandRunner.prolo(["audit", "access", "--store", store, "--json"])
            try #require(listed.status == 0, "\(listed.stderr)")
            let records = try #require(try parseJSON(listed.stdout) as? [[String: Any]], "\(listed.stdout)")
            let expected: [(route: String, patient: String?, purpose: String)] = [
                ("prolo audit replay", "p-1", "audit-replay"),
                ("prolo audit timeline", "p-1", "audit-timeline"),
                ("prolo audit report", "p-1", "audit-report"),
                ("prolo audit replay", "p-1", "audit-replay"),
                ("prolo audit replay", "p-2", "audit-replay"),
                ("prolo audit verify", nil, "audit-verify"),
            ]
            try #require(records.count == expected.count, "\(listed.stdout)")
            let user = ProcessInfo.processInfo.environment["USER"] ?? "unknown"
            for (record, want) in zip(records, expected) {
                #expect(record["route"] as? String == want.route, "\(record)")
                #expect(record["patient"] as? String == want.patient, "\(record)")
                #expect(record["purpose"] as? String == want.purpose, "\(record)")
                #expect(record["method"] as? String == "CLI")
                #expect(record["device"] as? String == "root")
                #expect(record["scope"] as? String == "local:\(user)")
                #expect(record["status"] as? Int == 0)
                #expect(record["outcome"] as? String == "ok")
                let at = try Timestamp(checked: try #require(record["at"] as? String))
                #expect(at >= before && at <= after, "\(at.text) not within the runs")
            }

            // One patient's accesses: only the reads of their record.
            let mine = try CommandRunner.prolo(["audit", "access", "--store", store, "--patient", "p-1", "--json"])
            let mineRecords = try #require(try parseJSON(mine.stdout) as? [[String: Any]])
            #expect(mineRecords.map { $0["route"] as? String } == [
                "prolo audit replay", "prolo audit timeline", "prolo audit report", "prolo audit replay",
            ])
            #expect(mineRecords.allSatisfy { $0["patient"] as? String == "p-1" })

            // The plain listing shows the same, one line per access.
            let text = try CommandRunner.prolo(["audit", "access", "--store", store, "--patient", "p-1"])
            #expect(text.status == 0)
            let lines = text.stdout.split(separator: "\n")
            #expect(lines.count == 4)
            for (line, purpose) in zip(lines, ["audit-replay", "audit-timeline", "audit-report", "audit-replay"]) {
                #expect(line.contains("p-1") && line.contains(purpose) && line.contains("CLI"), "\(line)")
            }

            // The library sees what the CLI wrote.
            let log = try root.store.accessLog(patient: "p-2")
            #expect(log.map(\.route) == ["prolo audit replay"])
        }
    }

    /// A clinic root holding two patients' events, 20 days old.
    private static func clinic(in directory: TemporaryDirectory) throws -> ClinicFixture {
        let clinic = try ClinicFixture(in: directory)
        let start = Timestamp.now().millisecondsSinceEpoch - 20 * AuditStory.day
        try clinic.root.store.record(
            [
                try AuditStory.consent("p-1", at: AuditStory.at(start)),
                try AuditStory.exam("p-1", nrs: 6, odi: 30, at: AuditStory.at(start)),
                try AuditStory.pain("p-2", score: 3, at: AuditStory.at(start)),
            ], signedBy: clinic.root.key)
        return clinic
    }

    @Test("every read function of ProloAudit writes the access log itself, with the caller's face and the patient, whoever calls it")
    func libraryReadsAreLogged() throws {
        try TemporaryDirectory.with { directory in
            let clinic = try Self.clinic(in: directory)
            let root = clinic.root
            // A face other than the CLI: a server answering an auditor's token.
            let server = AuditAccessor(
                device: "north-server", scope: "audit", token: "a1b2c3", method: "GET", route: "/v1/audit/{patient}",
                requestID: "req-7")
            let before = Timestamp(millisecondsSinceEpoch: Timestamp.now().millisecondsSinceEpoch - 1)
            let replayed = try AuditReplay.state(of: "p-1", in: root.store, asOf: .now(), by: .occurred, for: server)
            let timeline = try AuditTimeline.entries(of: "p-1", in: root.store, for: server)
            let page = try AuditReport.page(of: "p-2", in: root.projected, for: server)
            let verified = try ChainVerifier.verify(root.store, for: server)
            let after = Timestamp(millisecondsSinceEpoch: Timestamp.now().millisecondsSinceEpoch + 1)
            #expect(replayed.value.eventCount == 2)
            #expect(timeline.value.count == 2)
            #expect(page.value.contains("p-2"))
            #expect(verified.value.isClean)
            #expect(replayed.accessLogFailure == nil && timeline.accessLogFailure == nil)
            #expect(page.accessLogFailure == nil && verified.accessLogFailure == nil && verified.warning == nil)

            let log = try root.store.accessLog()
            #expect(log.map(\.purpose) == ["audit-replay", "audit-timeline", "audit-report", "audit-verify"])
            #expect(log.map(\.patient) == ["p-1", "p-1", "p-2", nil])
            for record in log {
                #expect(record.device == "north-server" && record.scope == "audit" && record.token == "a1b2c3", "\(record)")
                #expect(record.method == "GET" && record.route == "/v1/audit/{patient}" && record.requestID == "req-7")
                #expect(record.status == 0 && record.outcome == "ok")
                #expect(record.at >= before && record.at <= after, "\(record.at.text)")
            }
            // A read that finds no such patient reads no record: it throws and logs nothing.
            #expect(throws: StoreError.self) { try AuditTimeline.entries(of: "p-9", in: root.store, for: server) }
            #expect(try root.store.accessLog().count == log.count)
        }
    }

    @Test("when the access log cannot be written the read still answers, and says why; the CLI prints it as a warning and exits 0")
    func unloggedReadWarns() throws {
        try TemporaryDirectory.with { directory in
            let clinic = try Self.clinic(in: directory)
            let root = clinic.root
            // An access log that refuses every line (as a read-only copy or a full disk would).
            let tamper = try SQLiteConnection(path: root.store.path)
            try tamper.execute(
                "CREATE TRIGGER access_log_refuse_insert BEFORE INSERT ON access_log BEGIN SELECT RAISE(ABORT, 'the log is sealed'); END")
            let reader = AuditAccessor.localUser("auditor", of: root.store, command: "prolo audit timeline")
            let read = try AuditTimeline.entries(of: "p-1", in: root.store, for: reader)
            #expect(read.value.count == 2)
            let failure = try #require(read.accessLogFailure)
            #expect(failure.message.contains("the log is sealed"), "\(failure.message)")
            let warning = try #require(read.warning)
            #expect(warning.contains(root.store.path) && warning.contains("not written to the access log"), "\(warning)")
            let replayed = try AuditReplay.state(of: "p-1", in: root.store, asOf: .now(), by: .recorded, for: reader)
            #expect(replayed.value.eventCount == 2 && replayed.accessLogFailure != nil)
            #expect(try root.store.accessLog().isEmpty)

            for arguments in [
                ["audit", "timeline", "--patient", "p-1"], ["audit", "replay", "--patient", "p-1", "--as-of", Timestamp.now().text],
                ["audit", "verify"],
            ] {
                let result = try CommandRunner.prolo(arguments + ["--store", root.store.path])
                #expect(result.status == 0, "prolo \(arguments.joined(separator: " ")): \(result.stderr)")
                #expect(
                    result.stderr.contains("warning: this access was not written to the access log")
                        && result.stderr.contains("the log is sealed"),
                    "prolo \(arguments.joined(separator: " ")): \(result.stderr)")
                #expect(!result.stdout.isEmpty)
            }
            #expect(try root.store.accessLog().isEmpty)
        }
    }
}
