import NIOCore
import PostgresNIO
import ProloDomain
import ProloStore

/// What ``EventAdmission`` reads of a PostgreSQL log, fetched for a group of events in a few set queries before they
/// are decided (admission itself is synchronous and pure), and kept current as the append inserts them.
///
/// Asked for something that was not fetched, it fails with `internal-error` rather than guess: a missing fetch is a
/// bug of this driver, and a guess ("not held") could admit a second event at a taken position.
struct PrefetchedAdmissionLog: AdmissionLog {
    private struct Position: Hashable {
        let origin: String
        let seq: Int64
    }

    private struct PatientChain: Hashable {
        let origin: String
        let patient: String
    }

    private var ids: [EventID: EventHash?] = [:]
    /// Of the ids fetched, those waiting in quarantine (whose rows an admission deletes).
    private(set) var quarantined: Set<String> = []
    private var positions: [Position: EventHash?] = [:]
    private var heads: [Identifier: ChainHead] = [:]
    private var patientHeads: [PatientChain: EventHash?] = [:]
    /// Origins whose fork evidence was fetched, and that evidence by position and hash.
    private var forkOrigins: Set<Identifier> = []
    private var evidence: Set<[UInt8]> = []

    /// Fetches, inside the caller's transaction, what deciding `events` reads and is not known yet.
    mutating func fetch(for events: [Event], from log: PostgresLog) async throws(StoreError) {
        let newIDs = Array(Set(events.map(\.id).filter { ids[$0] == nil }))
        if !newIDs.isEmpty {
            for id in newIDs { ids[id] = .some(nil) }
            let texts = newIDs.map(\.text)
            let rows = try await log.run(
                """
                SELECT id, hash, false FROM events WHERE id = ANY(\(texts))
                UNION ALL SELECT id, NULL, true FROM quarantine WHERE id = ANY(\(texts))
                """, "cannot read held events")
            for row in rows {
                guard let id = try PostgresLog.decode(row, 0, as: String.self, "id").flatMap({ try? EventID(checked: $0) })
                else { continue }
                if try PostgresLog.decode(row, 2, as: Bool.self, "quarantined") == true {
                    quarantined.insert(id.text)
                } else {
                    ids[id] = .some(try Self.hash(row, 1))
                }
            }
        }
        let newPositions = Array(
            Set(events.map { Position(origin: $0.origin.text, seq: $0.originSeq) }.filter { positions[$0] == nil }))
        if !newPositions.isEmpty {
            for position in newPositions { positions[position] = .some(nil) }
            let rows = try await log.run(
                """
                SELECT e.origin, e.origin_seq, e.hash FROM events e
                JOIN unnest(\(newPositions.map(\.origin))::text[], \(newPositions.map(\.seq))::bigint[]) AS p(origin, seq)
                    ON e.origin = p.origin AND e.origin_seq = p.seq
                """, "cannot read held chain positions")
            for row in rows {
                let position = Position(
                    origin: try PostgresLog.decode(row, 0, as: String.self, "origin") ?? "",
                    seq: try PostgresLog.decode(row, 1, as: Int64.self, "origin_seq") ?? 0)
                positions[position] = .some(try Self.hash(row, 2))
            }
        }
        let newOrigins = Array(Set(events.map(\.origin).filter { heads[$0] == nil || !forkOrigins.contains($0) }))
        if !newOrigins.isEmpty {
            let texts = newOrigins.map(\.text)
            let rows = try await log.run(
                """
                SELECT o.origin, e.origin_seq, e.hash FROM unnest(\(texts)::text[]) AS o(origin)
                LEFT JOIN LATERAL (
                    SELECT origin_seq, hash FROM events WHERE origin = o.origin ORDER BY origin_seq DESC LIMIT 1
                ) e ON true
                """, "cannot read chain heads")
            for row in rows {
                guard let origin = try PostgresLog.decode(row, 0, as: String.self, "origin")
                    .flatMap({ try? Identifier(checked: $0) })
                else { continue }
                if heads[origin] == nil {
                    heads[origin] = ChainHead(
                        seq: try PostgresLog.decode(row, 1, as: Int64.self, "origin_seq") ?? 0, hash: try Self.hash(row, 2))
                }
            }
            let forks = try await log.run(
                "SELECT origin, origin_seq, other_hash FROM forks WHERE origin = ANY(\(texts))", "cannot read fork evidence")
            for row in forks {
                let origin = try PostgresLog.decode(row, 0, as: String.self, "origin") ?? ""
                let seq = try PostgresLog.decode(row, 1, as: Int64.self, "origin_seq") ?? 0
                if let hash = try Self.hash(row, 2) { evidence.insert(Self.evidenceKey(origin, seq, hash)) }
            }
            forkOrigins.formUnion(newOrigins)
        }
        let chains = Array(
            Set(events.compactMap { event in event.patient.map { PatientChain(origin: event.origin.text, patient: $0.text) } })
                .filter { patientHeads[$0] == nil })
        if !chains.isEmpty {
            for chain in chains { patientHeads[chain] = .some(nil) }
            let rows = try await log.run(
                """
                SELECT c.origin, c.patient, (
                    SELECT hash FROM events e WHERE e.patient = c.patient AND e.origin = c.origin
                    ORDER BY e.origin_seq DESC LIMIT 1)
                FROM unnest(\(chains.map(\.origin))::text[], \(chains.map(\.patient))::text[]) AS c(origin, patient)
                """, "cannot read patient chain heads")
            for row in rows {
                let chain = PatientChain(
                    origin: try PostgresLog.decode(row, 0, as: String.self, "origin") ?? "",
                    patient: try PostgresLog.decode(row, 1, as: String.self, "patient") ?? "")
                patientHeads[chain] = .some(try Self.hash(row, 2))
            }
        }
    }

    /// The chain heads fetched, as a version vector (what ``AppendPreflight`` compares a batch with).
    var heldVector: VersionVector {
        var vector = VersionVector()
        for (origin, head) in heads where head.seq > 0 { vector.advance(origin.text, to: head.seq) }
        return vector
    }

    /// Counts `event` as held: the next decisions see it.
    mutating func inserted(_ event: Event) {
        ids[event.id] = .some(event.hash)
        positions[Position(origin: event.origin.text, seq: event.originSeq)] = .some(event.hash)
        if event.originSeq > heads[event.origin]?.seq ?? 0 {
            heads[event.origin] = ChainHead(seq: event.originSeq, hash: event.hash)
        }
        if let patient = event.patient {
            patientHeads[PatientChain(origin: event.origin.text, patient: patient.text)] = .some(event.hash)
        }
    }

    /// Counts `id` as waiting in quarantine (quarantined by this batch, or read from there for a retry).
    mutating func waits(_ id: String) {
        quarantined.insert(id)
    }

    /// Counts `event` as held fork evidence.
    mutating func recordedEvidence(_ event: Event) {
        evidence.insert(Self.evidenceKey(event.origin.text, event.originSeq, event.hash))
    }

    func hash(of id: EventID) throws(StoreError) -> EventHash? {
        guard let known = ids[id] else { throw Self.notFetched("event \(id)") }
        return known
    }

    func hash(origin: Identifier, originSeq: Int64) throws(StoreError) -> EventHash? {
        guard let known = positions[Position(origin: origin.text, seq: originSeq)] else {
            throw Self.notFetched("origin \(origin) at \(originSeq)")
        }
        return known
    }

    func isForkEvidence(_ event: Event) throws(StoreError) -> Bool {
        guard forkOrigins.contains(event.origin) else { throw Self.notFetched("fork evidence of \(event.origin)") }
        return evidence.contains(Self.evidenceKey(event.origin.text, event.originSeq, event.hash))
    }

    func chainHead(of origin: Identifier) throws(StoreError) -> ChainHead {
        guard let head = heads[origin] else { throw Self.notFetched("the chain head of \(origin)") }
        return head
    }

    func patientHead(origin: Identifier, patient: PatientID) throws(StoreError) -> EventHash? {
        guard let known = patientHeads[PatientChain(origin: origin.text, patient: patient.text)] else {
            throw Self.notFetched("origin \(origin)'s chain of patient \(patient)")
        }
        return known
    }

    private static func evidenceKey(_ origin: String, _ seq: Int64, _ hash: EventHash) -> [UInt8] {
        Array(origin.utf8) + [0] + Array(String(seq).utf8) + [0] + hash.bytes
    }

    private static func hash(_ row: PostgresRow, _ index: Int) throws(StoreError) -> EventHash? {
        guard let buffer = try PostgresLog.decode(row, index, as: ByteBuffer.self, "hash") else { return nil }
        return try? EventHash(bytes: Array(buffer.readableBytesView))
    }

    private static func notFetched(_ what: String) -> StoreError {
        StoreError(.internalError, "admission asked for \(what), which the PostgreSQL driver did not fetch")
    }
}
