import ProloDomain
public import ProloStore

/// One problem `prolo audit verify` found, at the event where the history stops being provable.
public struct VerificationProblem: Error, Sendable, Hashable, CustomStringConvertible {
    /// What is wrong.
    public enum Kind: String, Sendable {
        case missingTrigger = "missing-trigger"
        case untrustedEnrollment = "untrusted-enrollment"
        case unenrolledOrigin = "unenrolled-origin"
        case gap
        case brokenLink = "broken-link"
        case brokenPatientLink = "broken-patient-link"
        case badHash = "bad-hash"
        case badSignature = "bad-signature"
        case damagedRow = "damaged-row"
        case unreportedFork = "unreported-fork"
        case revoked = "after-revocation"
        case derivedColumn = "derived-column"
    }

    public let kind: Kind
    /// The origin and position, when the problem is at an event.
    public let origin: String?
    public let originSeq: Int64?
    public let eventID: String?
    public let message: String

    public var description: String {
        var place = ""
        if let origin { place += "origin \(origin)" }
        if let originSeq { place += " originSeq \(originSeq)" }
        if let eventID { place += " event \(eventID)" }
        return place.isEmpty ? "\(kind.rawValue): \(message)" : "\(place): \(kind.rawValue): \(message)"
    }
}

/// What `prolo audit verify` covered and found.
public struct VerificationReport: Sendable, Hashable {
    /// The head of one origin's chain as verified.
    public struct Head: Sendable, Hashable {
        public let origin: String
        public let device: String?
        public let originSeq: Int64
        public let hash: String
    }

    public var eventsChecked = 0
    /// Whether the append-only triggers on `events` are in place.
    public var triggersIntact = true
    public var heads: [Head] = []
    /// Events a revoked device recorded after its revocation that the store holds flagged `after-revocation`, out
    /// of the read models: reported to the clinic, not an integrity failure (an honest replica may have received
    /// one before the revocation reached it).
    public var heldAfterRevocation = 0
    /// The first broken link; `nil` when the whole history verifies.
    public var firstProblem: VerificationProblem?
    public var isClean: Bool { firstProblem == nil }
}

/// Verifies a full replica's whole history, streaming (memory holds one page of events and one hash per
/// origin and patient, not the log):
/// - the append-only triggers on `events` are in place;
/// - every `device.enrolled` / `device.revoked` event is signed by a device that may administer at that point,
///   chaining back to the clinic's root key (the registry is rebuilt from these events in canonical order,
///   not read from the `origins` table, which a tamperer could edit);
/// - every origin's chain is gapless from 1, each `prev` is the previous event's hash, each `patientPrev` the
///   previous hash of that origin for that patient, each hash matches the envelope and the stored body, and
///   each signature verifies with the key the rebuilt registry holds for the origin;
/// - every fork kept as evidence has its origin frozen (no fork goes unreported).
/// It stops at the first broken link and names it.
public enum ChainVerifier {
    /// Events read, and then checked on every core, at a time; memory holds one page.
    public static let pageSize = 2048

    /// Verifies the store for `accessor`, and writes the access (every patient's events were read) to the access
    /// log.
    public static func verify(
        _ store: EventStore, for accessor: AuditAccessor, progress: (Int, Int) -> Void = { _, _ in }
    ) throws(StoreError) -> AuditRead<VerificationReport> {
        let report = try verify(store, progress: progress)
        let failure = accessor.log(to: store, patient: nil, purpose: "audit-verify")
        return AuditRead(report, from: store, accessLogFailure: failure)
    }

    /// Verifies the store's whole history; the report names the first problem, if any.
    public static func verify(_ store: EventStore, progress: (Int, Int) -> Void = { _, _ in }) throws(StoreError)
        -> VerificationReport
    {
        let root = store.identity.rootPublicKey
        return try store.read { connection throws(StoreError) -> VerificationReport in
            var report = VerificationReport()
            let names = try EventStore.loadRegistry(connection).devices.reduce(into: [String: String]()) { $0[$1.key.text] = $1.value.name }
            let total = Int(try connection.scalarInt("SELECT count(*) FROM events") ?? 0)
            // A missing trigger is reported after the chains, so a tampered event is still named where it is.
            let triggerProblem = try checkTriggers(connection)
            report.triggersIntact = triggerProblem == nil
            let registry: DeviceRegistry
            switch try rebuildRegistry(connection, root: root) {
            case .success(let rebuilt): registry = rebuilt
            case .failure(let problem):
                report.firstProblem = problem
                return report
            }
            let originsStatement = try connection.statement("SELECT DISTINCT origin FROM events ORDER BY origin")
            var origins: [String] = []
            while try originsStatement.step() { origins.append(originsStatement.text(0)) }
            originsStatement.reset()
            let flagged = try connection.statement("SELECT id FROM event_flags WHERE flag = ?")
            flagged.bind(1, ReviewHold.afterRevocation.rawValue)
            var heldAfterRevocation: Set<String> = []
            while try flagged.step() { heldAfterRevocation.insert(flagged.text(0)) }
            flagged.reset()
            for origin in origins {
                if let problem = try verifyChain(
                    origin, connection, registry: registry, names: names, slice: store.identity.homePatient,
                    ownOrigin: store.identity.origin, heldAfterRevocation: heldAfterRevocation, report: &report,
                    total: total, progress: progress)
                {
                    report.firstProblem = problem
                    return report
                }
            }
            if let problem = try checkForks(connection, registry: registry) { report.firstProblem = problem }
            if report.firstProblem == nil, let problem = try checkDerivedColumns(connection) { report.firstProblem = problem }
            if report.firstProblem == nil { report.firstProblem = triggerProblem }
            return report
        }
    }

    private static func checkTriggers(_ connection: SQLiteConnection) throws(StoreError) -> VerificationProblem? {
        for name in ["events_refuse_update", "events_refuse_delete"] {
            let statement = try connection.statement(
                "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ? AND tbl_name = 'events'")
            statement.bind(1, name)
            let found = try statement.step() ? statement.text(0) : ""
            statement.reset()
            // Present, and still refusing: a same-named trigger that does nothing does not count.
            let verb = name.hasSuffix("update") ? "UPDATE" : "DELETE"
            let compact = found.uppercased().filter { !$0.isWhitespace }
            let present = compact.contains("BEFORE\(verb)ONEVENTS") && compact.contains("RAISE(ABORT")
                && !compact.contains("WHEN")
            if !present {
                return VerificationProblem(
                    kind: .missingTrigger, origin: nil, originSeq: nil, eventID: nil,
                    message: "the append-only trigger \(name) on events is missing: the log could have been edited")
            }
        }
        return nil
    }

    private static func rebuildRegistry(_ connection: SQLiteConnection, root: DevicePublicKey) throws(StoreError)
        -> Result<DeviceRegistry, VerificationProblem>
    {
        var registry = DeviceRegistry([DeviceRecord(publicKey: root, name: "clinic root", role: .root)])
        let statement = try connection.statement(
            "SELECT \(EventStore.columns) FROM events WHERE type IN ('device.enrolled', 'device.revoked') ORDER BY hlc, origin, origin_seq")
        defer { statement.reset() }
        while try statement.step() {
            let event: Event
            do {
                event = try EventStore.decodeRow(statement).event
            } catch {
                return .failure(
                    VerificationProblem(
                        kind: .damagedRow, origin: statement.text(2), originSeq: statement.int64(3),
                        eventID: statement.text(1), message: error.message))
            }
            let problem = { (kind: VerificationProblem.Kind, message: String) in
                VerificationProblem(
                    kind: kind, origin: event.origin.text, originSeq: event.originSeq, eventID: event.id.text, message: message)
            }
            guard event.hasValidHash else { return .failure(problem(.badHash, "the hash does not match the envelope and body")) }
            // As on append: a registry event whose signer was not admitted (by then) has no effect. Its own chain is
            // still verified below; a signer no enrollment ever admits is reported there as untrusted.
            guard let signer = registry.devices[event.origin] else { continue }
            guard signer.publicKey.isValidSignature(event.signature, for: event.hash.bytes) else {
                return .failure(problem(.badSignature, "the signature does not verify with the key of origin \(event.origin)"))
            }
            // Hash and signature hold, so the body is as its signer wrote it: a payload this build cannot read is
            // authentic history with no effect, as on append (flagged `registry-refused` there), not damage.
            guard let payload = try? event.payload() else { continue }
            _ = try? registry.apply(event, payload: payload)
        }
        return .success(registry)
    }

    private static func verifyChain(
        _ origin: String, _ connection: SQLiteConnection, registry: DeviceRegistry, names: [String: String],
        slice: PatientID?, ownOrigin: Identifier, heldAfterRevocation: Set<String>, report: inout VerificationReport,
        total: Int, progress: (Int, Int) -> Void
    ) throws(StoreError) -> VerificationProblem? {
        guard let originID = try? Identifier(checked: origin), let device = registry.devices[originID] else {
            let first = try connection.statement("SELECT origin_seq, id, type FROM events WHERE origin = ? ORDER BY origin_seq LIMIT 1")
            first.bind(1, origin)
            defer { first.reset() }
            _ = try first.step()
            let type = first.text(2)
            let isRegistry = type == EventType.deviceEnrolled.rawValue || type == EventType.deviceRevoked.rawValue
            return VerificationProblem(
                kind: isRegistry ? .untrustedEnrollment : .unenrolledOrigin, origin: origin, originSeq: first.int64(0),
                eventID: first.text(1),
                message: isRegistry
                    ? "\(type) signed by origin \(origin), which no enrollment chaining to the root admits"
                    : "the log holds events of origin \(origin), which no enrollment chaining to the root admits")
        }
        // A home store holds other devices' chains as slices: they link by patientPrev, not gapless from 1.
        let sliced = slice != nil && originID != ownOrigin
        let key = device.publicKey
        let statement = try connection.statement(
            "SELECT \(EventStore.columns) FROM events WHERE origin = ? AND origin_seq > ? ORDER BY origin_seq LIMIT \(pageSize)")
        var expected: Int64 = 1
        var previous: EventHash?
        var patientHeads: [String: EventHash] = [:]
        while true {
            statement.bind(1, origin)
            statement.bind(2, expected - 1)
            var page: [Event] = []
            while try statement.step() {
                do {
                    page.append(try EventStore.decodeRow(statement).event)
                } catch {
                    // Named by the row's own position and id, which are plain columns even when others do not decode.
                    let originSeq = statement.int64(3)
                    let id = statement.text(1)
                    statement.reset()
                    return VerificationProblem(
                        kind: .damagedRow, origin: origin, originSeq: originSeq, eventID: id, message: error.message)
                }
            }
            statement.reset()
            guard !page.isEmpty else { break }
            let checks: [(Bool, Bool)]
            do {
                checks = try Parallel.map(page, minimumPerWorker: 64) { event in
                    let hashOK = event.hasValidHash
                    return (hashOK, hashOK && key.isValidSignature(event.signature, for: event.hash.bytes))
                }
            } catch {
                throw StoreError(.internalError, "cannot verify events: \(error)")
            }
            for (event, (hashOK, signatureOK)) in zip(page, checks) {
                let problem = { (kind: VerificationProblem.Kind, message: String) in
                    VerificationProblem(
                        kind: kind, origin: origin, originSeq: event.originSeq, eventID: event.id.text, message: message)
                }
                if !sliced {
                    guard event.originSeq == expected else {
                        return problem(.gap, "expected originSeq \(expected), found \(event.originSeq): an event is missing")
                    }
                    guard event.prev == previous else {
                        return problem(.brokenLink, "prev does not match the hash of originSeq \(expected - 1)")
                    }
                }
                guard hashOK else { return problem(.badHash, "the hash does not match the envelope and the stored body") }
                guard signatureOK else {
                    return problem(.badSignature, "the signature does not verify with the enrolled key of device \(device.name)")
                }
                if let revoked = device.revokedAfter, event.hlc > revoked {
                    guard heldAfterRevocation.contains(event.id.text) else {
                        return problem(
                            .revoked,
                            "recorded at \(event.hlc), after device \(device.name) was revoked at \(revoked), and not "
                                + "held out of the read models")
                    }
                    report.heldAfterRevocation += 1
                }
                if let patient = event.patient {
                    guard event.patientPrev == patientHeads[patient.text] else {
                        return problem(.brokenPatientLink, "patientPrev does not match the previous event of this origin for patient \(patient)")
                    }
                    patientHeads[patient.text] = event.hash
                }
                previous = event.hash
                expected = event.originSeq + 1
                report.eventsChecked += 1
            }
            progress(report.eventsChecked, total)
        }
        if let previous {
            report.heads.append(
                VerificationReport.Head(origin: origin, device: names[origin] ?? device.name, originSeq: expected - 1, hash: previous.hex))
        }
        return nil
    }

    /// `occurred_ms` is derived from the signed `occurred_at` for range queries; it must agree with it.
    private static func checkDerivedColumns(_ connection: SQLiteConnection) throws(StoreError) -> VerificationProblem? {
        let statement = try connection.statement("SELECT origin, origin_seq, id, occurred_at, occurred_ms FROM events ORDER BY origin, origin_seq")
        defer { statement.reset() }
        while try statement.step() {
            let signed = try? Timestamp(checked: statement.text(3))
            if signed?.millisecondsSinceEpoch != statement.int64(4) {
                return VerificationProblem(
                    kind: .derivedColumn, origin: statement.text(0), originSeq: statement.int64(1), eventID: statement.text(2),
                    message: "occurred_ms \(statement.int64(4)) does not match the signed occurredAt \(statement.text(3))")
            }
        }
        return nil
    }

    private static func checkForks(_ connection: SQLiteConnection, registry: DeviceRegistry) throws(StoreError)
        -> VerificationProblem?
    {
        let statement = try connection.statement("SELECT origin, origin_seq, other_id FROM forks ORDER BY origin, origin_seq")
        defer { statement.reset() }
        let frozen = try connection.statement("SELECT frozen_reason FROM origins WHERE origin = ?")
        while try statement.step() {
            let origin = statement.text(0)
            frozen.bind(1, origin)
            let isFrozen = try frozen.step() && !frozen.isNull(0)
            frozen.reset()
            if !isFrozen {
                return VerificationProblem(
                    kind: .unreportedFork, origin: origin, originSeq: statement.int64(1), eventID: statement.text(2),
                    message: "fork evidence is held but origin \(origin) is not frozen")
            }
        }
        return nil
    }
}
