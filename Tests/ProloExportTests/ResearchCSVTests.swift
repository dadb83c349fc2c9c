import Crypto
import Foundation
import ProloDomain
import ProloExport
import ProloStore
import ProloTestSupport
import Testing

/// The research export: outcomes without names or dates.
@Suite("The research CSV export")
struct ResearchCSVTests {
    static let key: [UInt8] = Array(repeating: 7, count: 32)

    /// The rows of one CSV file (no field of these exports holds a comma).
    static func rows(_ directory: String, _ name: String) throws -> [[String]] {
        try String(contentsOfFile: directory + "/" + name, encoding: .utf8).split(separator: "\r\n")
            .map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
    }

    @Test(
        "no name, MRN, contact or date leaves the store; an amended score reads as corrected; days count from the first injection"
    )
    func outcomesWithoutIdentity() throws {
        try TemporaryDirectory.with { directory in
            let store = try ExportFixture.storyStore(in: directory)
            let out = directory.file("csv")
            let summary = try ResearchCSV.export(from: store, to: out, key: Self.key)
            #expect(summary.patients == 1 && summary.measurements == 3 && summary.sessions == 1)
            for name in ["measurements.csv", "sessions.csv", "patients.csv"] {
                let text = try String(contentsOfFile: out + "/" + name, encoding: .utf8)
                for secret in ["p-0001", "Lindqvist", "Maren", "MRN", "2026-", "example.org", "+46"] {
                    #expect(!text.contains(secret), "\(name) holds \(secret)")
                }
            }
            let measurements = try Self.rows(out, "measurements.csv")
            #expect(measurements[0] == ["subject", "instrument", "score", "day", "session", "source", "reporter"])
            // The exam a week before the first injection, then the home report of 5, amended to 4.
            #expect(
                measurements.dropFirst().map { Array($0.dropFirst()) } == [
                    ["nrs", "7", "-7", "0", "exam", "clinician"], ["odi", "42", "-7", "0", "exam", "clinician"],
                    ["nrs", "4", "7", "1", "report", "patient"],
                ])
            let sessions = try Self.rows(out, "sessions.csv")
            #expect(Array(sessions[1].dropFirst()) == ["1", "0", "150", "2", "4", "10", "7", "42", "1", "3"])
            let patients = try Self.rows(out, "patients.csv")
            #expect(patients[1].last == "false")
            // Every column is in the dictionary.
            let described = Set(try Self.rows(out, "dictionary.csv").dropFirst().map { $0[1] })
            for header in measurements[0] + sessions[0] + patients[0] { #expect(described.contains(header)) }
        }
    }

    @Test("pseudonyms are the same with the same key and differ with another")
    func pseudonymsAreKeyed() throws {
        try TemporaryDirectory.with { directory in
            let store = try ExportFixture.storyStore(in: directory)
            var subjects: [String] = []
            for (name, key) in [("a", Self.key), ("b", Self.key), ("c", Array(repeating: 8, count: 32))] {
                _ = try ResearchCSV.export(from: store, to: directory.file(name), key: key)
                subjects.append(try Self.rows(directory.file(name), "patients.csv")[1][0])
            }
            #expect(subjects[0] == subjects[1])
            #expect(subjects[0] != subjects[2])
            #expect(subjects[0].count == 17 && subjects[0].hasPrefix("S"))
        }
    }

    @Test(
        "a pseudonym is HMAC-SHA256 of the patient id under the clinic's key: stable across exports as the store grows, another with another key, never the id"
    )
    func pseudonymsAreHMACs() throws {
        try TemporaryDirectory.with { directory in
            let (store, key) = try Fixtures.makeStore(in: directory)
            let patients: [PatientID] = ["p-0001", "p-0002", "p-0003"]
            for (offset, patient) in patients.enumerated() {
                let start = 1_790_000_000_000 + Int64(offset) * 3_600_000
                _ = try store.record(
                    [
                        try Fixtures.draft(CatalogExamples.patientRegistered, patient: patient, at: start),
                        try Fixtures.draft(CatalogExamples.examRecorded, patient: patient, at: start + 60_000),
                    ], signedBy: key)
            }
            /// The subjects of patients.csv of an export with `secret`.
            func subjects(_ name: String, _ secret: [UInt8]) throws -> Set<String> {
                _ = try ResearchCSV.export(from: store, to: directory.file(name), key: secret)
                return Set(try Self.rows(directory.file(name), "patients.csv").dropFirst().map { $0[0] })
            }
            let first = try subjects("first", Self.key)
            // A later export, after the clinic recorded more, names the same patients the same way.
            let report = try Fixtures.painDraft(patient: "p-0002", score: 3, at: 1_791_000_000_000)
            _ = try store.record([report], signedBy: key)
            let later = try subjects("later", Self.key)
            #expect(first == later && first.count == 3)
            // Each is the documented HMAC, computed here with swift-crypto, as anyone holding the key can.
            let expected = Set(
                patients.map { patient in
                    let message = Array("prolo research pseudonym v1".utf8) + [0] + Array(patient.text.utf8)
                    let code = HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: Self.key))
                    return "S" + code.prefix(8).map { String(format: "%02x", $0) }.joined()
                })
            #expect(first == expected)
            #expect(Set(patients.map { ResearchCSV.pseudonym(of: $0, key: Self.key) }) == expected)
            // Another key: none of the same pseudonyms.
            let other = try subjects("other", Array(repeating: 9, count: 32))
            #expect(other.count == 3 && other.isDisjoint(with: first))
            // The id is nowhere in the pseudonym, as text or as hex.
            for subject in first.union(other) {
                for patient in patients {
                    let hex = patient.text.utf8.map { String(format: "%02x", $0) }.joined()
                    #expect(!subject.contains(patient.text) && !subject.contains(hex))
                }
            }
            // A key of the wrong length is refused before anything is written.
            #expect(throws: FHIRExportError.self) {
                try ResearchCSV.export(from: store, to: directory.file("short"), key: Array(repeating: 1, count: 16))
            }
            #expect(!FileManager.default.fileExists(atPath: directory.file("short")))
        }
    }
}
