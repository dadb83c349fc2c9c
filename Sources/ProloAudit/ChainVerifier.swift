import ProloDomain
public import ProloStore

/// Verifies a SQLite store's whole history against ``ChainAudit``'s rules, streaming (memory holds one page of
/// events and one hash per origin and patient, not the log):
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
        try store.read { connection throws(StoreError) -> VerificationReport in
            let names = try EventStore.loadRegistry(connection).devices.reduce(into: [String: String]()) { $0[$1.key.text] = $1.value.name }
            let total = Int(try connection.scalarInt("SELECT count(*) FROM events") ?? 0)
            let flagged = try connection.statement("SELECT id, flag FROM event_flags WHERE flag IN (?, ?)")
            flagged.bind(1, ReviewHold.afterRevocation.rawValue)
            flagged.bind(2, ReviewHold.brokenPatientLink.rawValue)
            var held: [String: Set<String>] = [:]
            while try flagged.step() { held[flagged.text(1), default: []].insert(flagged.text(0)) }
            flagged.reset()
            var audit = ChainAudit(
                root: store.identity.rootPublicKey, slice: store.identity.homePatient, ownOrigin: store.identity.origin,
                heldAfterRevocation: held[ReviewHold.afterRevocation.rawValue] ?? [],
                heldBrokenPatientLinks: held[ReviewHold.brokenPatientLink.rawValue] ?? [], names: names)
            // A missing trigger is reported after the chains, so a tampered event is still named where it is.
            let triggerProblem = try checkTriggers(connection)
            let problem = try walk(connection, &audit, total: total, progress: progress)
            var report = audit.report
            report.triggersIntact = triggerProblem == nil
            report.firstProblem = problem ?? triggerProblem
            return report
        }
    }

    /// Passes 1 to 4 of ``ChainAudit`` over the SQLite tables; the first problem, if any.
    private static func walk(
        _ connection: SQLiteConnection, _ audit: inout ChainAudit, total: Int, progress: (Int, Int) -> Void
    ) throws(StoreError) -> VerificationProblem? {
        let registryRows = try connection.statement(
            "SELECT \(EventStore.columns) FROM events WHERE type IN ('device.enrolled', 'device.revoked') ORDER BY hlc, origin, origin_seq")
        defer { registryRows.reset() }
        while try registryRows.step() {
            if let problem = audit.rebuildRegistry(EventStore.row(registryRows)) { return problem }
        }
        let originsStatement = try connection.statement("SELECT DISTINCT origin FROM events ORDER BY origin")
        var origins: [String] = []
        while try originsStatement.step() { origins.append(originsStatement.text(0)) }
        originsStatement.reset()
        let first = try connection.statement("SELECT origin_seq, id, type FROM events WHERE origin = ? ORDER BY origin_seq LIMIT 1")
        let page = try connection.statement(
            "SELECT \(EventStore.columns) FROM events WHERE origin = ? AND origin_seq > ? ORDER BY origin_seq LIMIT \(pageSize)")
        for origin in origins {
            let problem = try audit.beginChain(origin) { () throws(StoreError) in
                first.bind(1, origin)
                defer { first.reset() }
                _ = try first.step()
                return (first.int64(0), first.text(1), first.text(2))
            }
            if let problem { return problem }
            while true {
                page.bind(1, origin)
                page.bind(2, audit.resumeAfter)
                var rows: [EventRow] = []
                while try page.step() { rows.append(EventStore.row(page)) }
                page.reset()
                guard !rows.isEmpty else { break }
                if let problem = try audit.checkPage(rows) { return problem }
                progress(audit.report.eventsChecked, total)
            }
            audit.endChain()
        }
        let forks = try connection.statement(
            """
            SELECT forks.origin, forks.origin_seq, forks.other_id, origins.frozen_reason IS NOT NULL
            FROM forks LEFT JOIN origins ON origins.origin = forks.origin ORDER BY forks.origin, forks.origin_seq
            """)
        defer { forks.reset() }
        while try forks.step() {
            if let problem = ChainAudit.checkFork(
                origin: forks.text(0), originSeq: forks.int64(1), otherID: forks.text(2), frozen: forks.int64(3) == 1)
            {
                return problem
            }
        }
        let derived = try connection.statement("SELECT origin, origin_seq, id, occurred_at, occurred_ms FROM events ORDER BY origin, origin_seq")
        defer { derived.reset() }
        while try derived.step() {
            if let problem = ChainAudit.checkDerivedColumn(
                origin: derived.text(0), originSeq: derived.int64(1), eventID: derived.text(2), occurredAt: derived.text(3),
                occurredMilliseconds: derived.int64(4))
            {
                return problem
            }
        }
        return nil
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
            if !present { return ChainAudit.missingTrigger(name) }
        }
        return nil
    }
}
