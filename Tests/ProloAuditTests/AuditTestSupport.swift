import Foundation
import ProloAudit
import ProloDomain
import ProloProjections
import ProloStore
import ProloTestSupport
import Testing

/// Who the audit tests read records as: ProloAudit writes it to the store's access log like any other reader.
let testAuditor = AuditAccessor(device: "swift-test", scope: "test", method: "TEST", route: "swift test")

/// Checks that `report` names exactly this problem at exactly this event.
func expectProblem(
    _ report: VerificationReport, _ kind: VerificationProblem.Kind, origin: String, originSeq: Int64, event: EventID,
    sourceLocation: SourceLocation = #_sourceLocation
) throws {
    let problem = try #require(report.firstProblem, "the tampered store verified clean", sourceLocation: sourceLocation)
    #expect(problem.kind == kind, "\(problem)", sourceLocation: sourceLocation)
    #expect(problem.origin == origin, "\(problem)", sourceLocation: sourceLocation)
    #expect(problem.originSeq == originSeq, "\(problem)", sourceLocation: sourceLocation)
    #expect(problem.eventID == event.text, "\(problem)", sourceLocation: sourceLocation)
    #expect(!report.isClean, sourceLocation: sourceLocation)
}

/// Errors of the audit tests' own helpers (a tool that is missing or failed).
struct AuditTestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The plain `sqlite3` shell, run as a separate process: what a tamperer with file access would use.
enum SQLiteShell {
    /// Runs `sql` on the database file at `path` and returns what the shell printed; throws when it fails. Without
    /// the shell on the machine, the running test is skipped (see ``RequiredTool``).
    @discardableResult
    static func run(_ path: String, _ sql: String) throws -> String {
        let shell = try RequiredTool.sqlite3.require("tampering behind Prolo's back is not tried")
        let result = try CommandRunner.run(shell, ["-batch", "-bail", path, sql])
        guard result.status == 0, result.stderr.isEmpty else {
            throw AuditTestError("sqlite3 \(path) \"\(sql)\" failed with status \(result.status): \(result.stderr)")
        }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Copies a live store (open in this process) to `copy`: checkpoints its WAL with the shell, then copies the
    /// main file and whatever WAL is left, so the copy holds every committed event.
    static func copyStore(_ original: String, to copy: String) throws {
        try run(original, "PRAGMA wal_checkpoint(TRUNCATE)")
        try FileManager.default.copyItem(atPath: original, toPath: copy)
        let wal = original + "-wal"
        if let size = (try? FileManager.default.attributesOfItem(atPath: wal))?[.size] as? Int, size > 0 {
            try FileManager.default.copyItem(atPath: wal, toPath: copy + "-wal")
        }
    }

    /// A copy of `store` at `name` in `directory` with the append-only triggers of `events` dropped, ready to edit.
    static func tamperableCopy(of store: EventStore, in directory: TemporaryDirectory, name: String) throws -> String {
        let copy = directory.file(name)
        try copyStore(store.path, to: copy)
        try run(copy, "DROP TRIGGER events_refuse_update; DROP TRIGGER events_refuse_delete;")
        return copy
    }

    /// Lowercase hex of bytes, for `X'…'` blob literals.
    static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { String(format: "%02x", $0) }.joined()
    }

    /// Bytes of a hex string as printed by SQLite's `hex()`.
    static func bytes(hex: String) throws -> [UInt8] {
        let characters = Array(hex.utf8)
        guard characters.count % 2 == 0 else { throw AuditTestError("odd-length hex: \(hex.prefix(40))") }
        var result: [UInt8] = []
        result.reserveCapacity(characters.count / 2)
        var index = 0
        while index < characters.count {
            guard let byte = UInt8(String(decoding: characters[index..<index + 2], as: UTF8.self), radix: 16) else {
                throw AuditTestError("not hex: \(hex.prefix(40))")
            }
            result.append(byte)
            index += 2
        }
        return result
    }

    /// SQL text literal.
    static func quote(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "''") + "'"
    }
}

/// Real moments between steps of a history: each is strictly after everything done before it and strictly
/// before everything done after it (the store's times have millisecond resolution).
func moment() -> Timestamp {
    Thread.sleep(forTimeInterval: 0.006)
    let now = Timestamp.now()
    Thread.sleep(forTimeInterval: 0.006)
    return now
}

/// Drafts of a small, valid clinical story for the audit tests.
enum AuditStory {
    static let clinician = Author(id: "prac-0012", role: .clinician)
    static let day: Int64 = 86_400_000

    static func at(_ milliseconds: Int64) -> Timestamp { Timestamp(millisecondsSinceEpoch: milliseconds) }

    static func consent(_ patient: PatientID, at time: Timestamp) throws -> EventDraft {
        try EventDraft(CatalogExamples.consentRecorded, patient: patient, occurredAt: time, author: clinician)
    }

    static func exam(_ patient: PatientID, nrs: Int, odi: Int, at time: Timestamp) throws -> EventDraft {
        var exam = CatalogExamples.examRecorded
        exam.painNRS = try Score(checked: nrs)
        exam.odi = try Score(checked: odi)
        return try EventDraft(exam, patient: patient, occurredAt: time, author: clinician)
    }

    static func course(_ patient: PatientID, at time: Timestamp) throws -> EventDraft {
        try EventDraft(CatalogExamples.coursePlanned, patient: patient, occurredAt: time, author: clinician)
    }

    static func injection(_ patient: PatientID, at time: Timestamp) throws -> EventDraft {
        try EventDraft(CatalogExamples.injectionAdministered, patient: patient, occurredAt: time, author: clinician)
    }

    static func painPayload(_ patient: PatientID, _ instrument: PainInstrument, _ score: Int) -> PainReported {
        PainReported(instrument: instrument, score: score, reporter: Reporter(role: .patient, id: patient))
    }

    static func pain(_ patient: PatientID, _ instrument: PainInstrument = .nrs, score: Int, at time: Timestamp) throws
        -> EventDraft
    {
        try EventDraft(painPayload(patient, instrument, score), patient: patient, occurredAt: time, author: clinician)
    }

    /// A fever with intense pain, grade 3, after `injection`: raises possible-infection and serious-adverse-event.
    static func fever(_ patient: PatientID, after injection: EventID?, onset: Timestamp) throws -> EventDraft {
        var effect = CatalogExamples.sideEffectReported
        effect.reporter = Reporter(role: .patient, id: patient)
        effect.relatedInjection = injection
        effect.onset = onset
        return try EventDraft(effect, patient: patient, occurredAt: onset, author: clinician)
    }

    /// An amendment of a pain report to a new score.
    static func amendPain(
        _ target: EventID, _ patient: PatientID, _ instrument: PainInstrument = .nrs, to score: Int, at time: Timestamp
    ) throws -> EventDraft {
        let amendment = try EventAmended(
            target: target, correctedPayload: painPayload(patient, instrument, score),
            reason: "Mistyped score, corrected at the patient's request.", amendedBy: "prac-0012")
        return try EventDraft(amendment, patient: patient, occurredAt: time, author: clinician)
    }

    static func retract(_ target: EventID, _ patient: PatientID, at time: Timestamp) throws -> EventDraft {
        let retraction = EventRetracted(target: target, reason: .enteredInError, note: "Entered in error.", retractedBy: "prac-0012")
        return try EventDraft(retraction, patient: patient, occurredAt: time, author: clinician)
    }
}

extension EventStore {
    /// Records one draft and returns the stored event.
    @discardableResult
    func recordOne(_ draft: EventDraft, key: DeviceKey) throws -> StoredEvent {
        try record([draft], signedBy: key)[0]
    }
}

/// Parses JSON printed by `prolo … --json`.
func parseJSON(_ text: String) throws -> Any {
    try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
}

/// What a program run by ``runWithTimeout(_:_:seconds:)`` returned.
struct ToolResult {
    let status: Int32
    let stdout: String
    let stderr: String
}

/// Runs a program with a deadline (a browser that hangs must fail the test, not hang the suite).
func runWithTimeout(_ executable: String, _ arguments: [String], seconds: Double) throws -> ToolResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.standardInput = FileHandle.nullDevice
    let output = Pipe()
    let errors = Pipe()
    process.standardOutput = output
    process.standardError = errors
    let finished = DispatchSemaphore(value: 0)
    process.terminationHandler = { _ in finished.signal() }
    try process.run()
    let group = DispatchGroup()
    nonisolated(unsafe) var stdoutData = Data()
    nonisolated(unsafe) var stderrData = Data()
    group.enter()
    DispatchQueue.global().async {
        stdoutData = output.fileHandleForReading.readDataToEndOfFile()
        group.leave()
    }
    group.enter()
    DispatchQueue.global().async {
        stderrData = errors.fileHandleForReading.readDataToEndOfFile()
        group.leave()
    }
    if finished.wait(timeout: .now() + seconds) == .timedOut {
        process.terminate()
        _ = finished.wait(timeout: .now() + 5)
        throw AuditTestError("\(executable) \(arguments.joined(separator: " ")) did not finish in \(Int(seconds)) s")
    }
    _ = group.wait(timeout: .now() + 10)
    return ToolResult(
        status: process.terminationStatus, stdout: String(decoding: stdoutData, as: UTF8.self),
        stderr: String(decoding: stderrData, as: UTF8.self))
}
