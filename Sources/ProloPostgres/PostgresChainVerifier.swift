public import ProloAudit
import PostgresNIO
import ProloDomain
import ProloStore

extension PostgresLog {
    /// Verifies the whole log against ``ChainAudit``'s rules, as `prolo audit verify` does a SQLite store's: the
    /// append-only triggers present and enabled, the registry rebuilt from its signed events, every chain gapless
    /// and linked with every hash and signature checked, forks reported, derived columns agreeing. Streaming: memory
    /// holds one page of ``ChainVerifier/pageSize`` events.
    public func verify(progress: (Int, Int) -> Void = { _, _ in }) async throws(StoreError) -> VerificationReport {
        guard let rootText = try await meta("root_public_key"), let root = try? DevicePublicKey(base64: rootText),
            let deviceText = try await meta("device_public_key"), let device = try? DevicePublicKey(base64: deviceText)
        else {
            throw StoreError(.notAStore, "\(url.redacted) holds no Prolo store identity (store_meta): nothing to verify")
        }
        let slice = try await meta("home_patient").flatMap { try? PatientID(checked: $0) }
        var names: [String: String] = [:]
        for row in try await run("SELECT origin, name FROM origins", "cannot read origins") {
            if let origin = try Self.decode(row, 0, as: String.self, "origin") {
                names[origin] = try Self.decode(row, 1, as: String.self, "name")
            }
        }
        var held: [String: Set<String>] = [:]
        for row in try await run(
            "SELECT id, flag FROM event_flags WHERE flag IN (\(ReviewHold.afterRevocation.rawValue), \(ReviewHold.brokenPatientLink.rawValue))",
            "cannot read event_flags")
        {
            if let id = try Self.decode(row, 0, as: String.self, "id"), let flag = try Self.decode(row, 1, as: String.self, "flag") {
                held[flag, default: []].insert(id)
            }
        }
        var audit = ChainAudit(
            root: root, slice: slice, ownOrigin: device.origin,
            heldAfterRevocation: held[ReviewHold.afterRevocation.rawValue] ?? [],
            heldBrokenPatientLinks: held[ReviewHold.brokenPatientLink.rawValue] ?? [], names: names)
        let triggerProblem = try await checkTriggers()
        let problem = try await walk(&audit, total: try await count(), progress: progress)
        var report = audit.report
        report.triggersIntact = triggerProblem == nil
        report.firstProblem = problem ?? triggerProblem
        if report.firstProblem == nil { report.firstProblem = try await checkHeads() }
        return report
    }

    /// Passes 1 to 4 of ``ChainAudit`` over the PostgreSQL tables; the first problem, if any.
    private func walk(_ audit: inout ChainAudit, total: Int, progress: (Int, Int) -> Void) async throws(StoreError)
        -> VerificationProblem?
    {
        let columns = EventStore.columns
        for row in try await run(
            PostgresQuery(
                unsafeSQL: "SELECT \(columns) FROM events WHERE type IN ('device.enrolled', 'device.revoked') ORDER BY hlc, origin, origin_seq"),
            "cannot read registry events")
        {
            if let problem = audit.rebuildRegistry(try Self.eventRow(row)) { return problem }
        }
        var origins: [String] = []
        for row in try await run("SELECT DISTINCT origin FROM events ORDER BY origin", "cannot read origins") {
            origins.append(try Self.decode(row, 0, as: String.self, "origin") ?? "")
        }
        for origin in origins {
            let firstRows = try await run(
                "SELECT origin_seq, id, type FROM events WHERE origin = \(origin) ORDER BY origin_seq LIMIT 1",
                "cannot read events of \(origin)")
            let first = (
                originSeq: try Self.decode(firstRows.first, 0, as: Int64.self, "origin_seq") ?? 0,
                id: try Self.decode(firstRows.first, 1, as: String.self, "id") ?? "",
                type: try Self.decode(firstRows.first, 2, as: String.self, "type") ?? "")
            if let problem = try audit.beginChain(origin, first: { () throws(StoreError) in first }) { return problem }
            // The next page is read while this one is checked: the checks keep the cores busy, the read waits on
            // the server.
            let start = audit.resumeAfter
            var next: Task<[EventRow], any Error>? = Task { try await self.page(of: origin, after: start) }
            while let reading = next {
                let rows: [EventRow]
                do {
                    rows = try await reading.value
                } catch {
                    throw error as? StoreError ?? StoreError(.internalError, "cannot read events of \(origin): \(error)")
                }
                guard let last = rows.last else { break }
                next = rows.count < ChainVerifier.pageSize ? nil : Task { try await self.page(of: origin, after: last.originSeq) }
                if let problem = try audit.checkPage(rows) {
                    _ = try? await next?.value
                    return problem
                }
                progress(audit.report.eventsChecked, total)
            }
            audit.endChain()
        }
        for row in try await run(
            """
            SELECT forks.origin, forks.origin_seq, forks.other_id, origins.frozen_reason IS NOT NULL
            FROM forks LEFT JOIN origins ON origins.origin = forks.origin ORDER BY forks.origin, forks.origin_seq
            """, "cannot read forks")
        {
            if let problem = ChainAudit.checkFork(
                origin: try Self.decode(row, 0, as: String.self, "origin") ?? "",
                originSeq: try Self.decode(row, 1, as: Int64.self, "origin_seq") ?? 0,
                otherID: try Self.decode(row, 2, as: String.self, "other_id") ?? "",
                frozen: try Self.decode(row, 3, as: Bool.self, "frozen") ?? false)
            {
                return problem
            }
        }
        // Server side: only the rows whose derived column disagrees come back.
        for row in try await run(
            """
            SELECT origin, origin_seq, id, occurred_at, occurred_ms FROM events
            WHERE occurred_ms IS DISTINCT FROM
                (extract(epoch FROM (occurred_at::timestamptz)) * 1000)::bigint
            ORDER BY origin, origin_seq
            """, "cannot read occurred_ms")
        {
            if let problem = ChainAudit.checkDerivedColumn(
                origin: try Self.decode(row, 0, as: String.self, "origin") ?? "",
                originSeq: try Self.decode(row, 1, as: Int64.self, "origin_seq") ?? 0,
                eventID: try Self.decode(row, 2, as: String.self, "id") ?? "",
                occurredAt: try Self.decode(row, 3, as: String.self, "occurred_at") ?? "",
                occurredMilliseconds: try Self.decode(row, 4, as: Int64.self, "occurred_ms") ?? 0)
            {
                return problem
            }
        }
        return nil
    }

    /// The rows of `origin`'s chain above `after`, one page of them in `originSeq` order.
    private func page(of origin: String, after: Int64) async throws(StoreError) -> [EventRow] {
        var binds = PostgresBindings()
        binds.append(origin)
        binds.append(after)
        let sql = "SELECT \(EventStore.columns) FROM events WHERE origin = $1 AND origin_seq > $2 ORDER BY origin_seq "
            + "LIMIT \(ChainVerifier.pageSize)"
        var page: [EventRow] = []
        for row in try await run(PostgresQuery(unsafeSQL: sql, binds: binds), "cannot read events of \(origin)") {
            page.append(try Self.eventRow(row))
        }
        return page
    }

    /// The heads a server's version vector is read from (`origin_heads`, migration 5): its trigger present and
    /// enabled, and each origin's row the highest position its events hold. A head too low would hide the origin's
    /// newer events from every pull, so a wrong one is a problem (`derived-column`), not a detail.
    private func checkHeads() async throws(StoreError) -> VerificationProblem? {
        let trigger = try await run(
            "SELECT tgenabled::text FROM pg_trigger WHERE tgrelid = 'events'::regclass AND tgname = 'events_advance_heads'",
            "cannot read the triggers of events")
        if (try Self.decode(trigger.first, 0, as: String.self, "tgenabled") ?? "D") == "D" {
            return ChainAudit.derivedValue(
                "the trigger events_advance_heads on events is missing or disabled: origin_heads (the hub's version "
                    + "vector) no longer follows the log")
        }
        let rows = try await run(
            """
            SELECT coalesce(e.origin, h.origin), e.seq, h.seq
            FROM (SELECT origin, max(origin_seq) AS seq FROM events GROUP BY origin) e
            FULL JOIN origin_heads h ON h.origin = e.origin
            WHERE e.seq IS DISTINCT FROM h.seq ORDER BY 1 LIMIT 1
            """, "cannot compare origin_heads with the events")
        guard let row = rows.first else { return nil }
        let origin = try Self.decode(row, 0, as: String.self, "origin") ?? ""
        let held = try Self.decode(row, 1, as: Int64.self, "held")
        let head = try Self.decode(row, 2, as: Int64.self, "head")
        return ChainAudit.derivedValue(
            "origin_heads says \(head.map(String.init) ?? "nothing") for origin \(origin), whose events reach "
                + "\(held.map(String.init) ?? "nothing"): the hub's version vector would not serve its events",
            origin: origin, originSeq: held)
    }

    /// The append-only triggers on `events`: present, enabled, and calling the function that refuses.
    private func checkTriggers() async throws(StoreError) -> VerificationProblem? {
        for name in ["events_refuse_update", "events_refuse_delete", "events_refuse_truncate"] {
            let rows = try await run(
                """
                SELECT t.tgenabled::text, p.prosrc FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid
                WHERE t.tgrelid = 'events'::regclass AND t.tgname = \(name)
                """, "cannot read the triggers of events")
            let enabled = try Self.decode(rows.first, 0, as: String.self, "tgenabled") ?? "D"
            let body = (try Self.decode(rows.first, 1, as: String.self, "prosrc") ?? "").uppercased()
            if enabled == "D" || !body.contains("RAISE EXCEPTION") { return ChainAudit.missingTrigger(name) }
        }
        return nil
    }
}
