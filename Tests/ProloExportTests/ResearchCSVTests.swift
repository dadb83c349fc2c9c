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
}
