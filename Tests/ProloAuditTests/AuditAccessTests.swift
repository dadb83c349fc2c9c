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
}
