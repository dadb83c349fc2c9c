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
    /// Origins whose fork evidence was fetched, and that evidence by position and hash. Only ``fetch(for:from:)``
    /// adds to it, in the query that also reads which of them have events waiting to be retried: ``mightWait(_:)``
    /// relies on that.
    private var forkOrigins: Set<Identifier> = []
    private var evidence: Set<[UInt8]> = []
    /// The lowest position of each fetched origin's evidence (fetched, or recorded since).
    private var lowestFork: [Identifier: Int64] = [:]
    /// Of those origins, the ones with events waiting in quarantine to be retried (fetched, or quarantined since).
    private var waitingOrigins: Set<Identifier> = []

    /// Fetches, inside the caller's transaction, what deciding `events` reads and is not known yet, in one prepared
    /// query (``AdmissionReads``): held ids and whether they wait in quarantine, held positions, chain heads, fork
    /// evidence and whether events wait to be retried, patient chain heads. As five queries it was five round trips
    /// of every push.
    mutating func fetch(for events: [Event], from log: PostgresLog) async throws(StoreError) {
        let newIDs = Array(Set(events.map(\.id).filter { ids[$0] == nil }))
        let newPositions = Array(
            Set(events.map { Position(origin: $0.origin.text, seq: $0.originSeq) }.filter { positions[$0] == nil }))
        // An origin's head and fork evidence are fetched together (`forkOrigins` records which).
        let newOrigins = Array(Set(events.map(\.origin).filter { !forkOrigins.contains($0) }))
        let chains = Array(
            Set(events.compactMap { event in event.patient.map { PatientChain(origin: event.origin.text, patient: $0.text) } })
                .filter { patientHeads[$0] == nil })
        guard !newIDs.isEmpty || !newPositions.isEmpty || !newOrigins.isEmpty || !chains.isEmpty else { return }
        for id in newIDs { ids[id] = .some(nil) }
        for position in newPositions { positions[position] = .some(nil) }
        for chain in chains { patientHeads[chain] = .some(nil) }
        let rows = try await log.run(
            AdmissionReads.self,
            PostgresBindings(
                newIDs.map(\.text), newPositions.map(\.origin), newPositions.map(\.seq), newOrigins.map(\.text),
                chains.map(\.origin), chains.map(\.patient)),
            "cannot read what admission decides by")
        for row in rows {
            let kind = try PostgresLog.decode(row, 0, as: Int32.self, "kind") ?? -1
            let text = try PostgresLog.decode(row, 1, as: String.self, "key") ?? ""
            let other = try PostgresLog.decode(row, 2, as: String.self, "other")
            let seq = try PostgresLog.decode(row, 3, as: Int64.self, "seq")
            let hash = try PostgresLog.hash(row, 4)
            switch kind {
            case AdmissionReads.heldID:
                if let id = try? EventID(checked: text) { ids[id] = .some(hash) }
            case AdmissionReads.waiting:
                quarantined.insert(text)
            case AdmissionReads.heldPosition:
                positions[Position(origin: text, seq: seq ?? 0)] = .some(hash)
            case AdmissionReads.head:
                if let origin = try? Identifier(checked: text), heads[origin] == nil {
                    heads[origin] = ChainHead(seq: seq ?? 0, hash: hash)
                }
            case AdmissionReads.forkEvidence:
                if let hash { evidence.insert(Self.evidenceKey(text, seq ?? 0, hash)) }
                if let origin = try? Identifier(checked: text), let seq { lowestFork[origin] = min(lowestFork[origin] ?? seq, seq) }
            case AdmissionReads.patientHead:
                patientHeads[PatientChain(origin: text, patient: other ?? "")] = .some(hash)
            case AdmissionReads.waitingOrigin:
                // Dropped, it would let a push skip events that wait: fail instead.
                guard let origin = try? Identifier(checked: text) else {
                    throw StoreError(.internalError, "the quarantine names an origin that is not an identifier: \(text)")
                }
                waitingOrigins.insert(origin)
            default:
                throw StoreError(.internalError, "admission's reads returned a row of unknown kind \(kind)")
            }
        }
        forkOrigins.formUnion(newOrigins)
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

    /// Counts `id` of `origin` as waiting in quarantine (quarantined by this batch, or read from there for a retry).
    mutating func waits(_ id: String, origin: Identifier) {
        quarantined.insert(id)
        waitingOrigins.insert(origin)
    }

    /// Whether `origin` may have events waiting to be retried: unless its quarantine was fetched with nothing to retry
    /// and nothing of it was quarantined since (a push of a device whose chain has no gap then asks the quarantine
    /// nothing more).
    func mightWait(_ origin: Identifier) -> Bool {
        !forkOrigins.contains(origin) || waitingOrigins.contains(origin)
    }

    /// Counts `event` as held fork evidence.
    mutating func recordedEvidence(_ event: Event) {
        evidence.insert(Self.evidenceKey(event.origin.text, event.originSeq, event.hash))
        lowestFork[event.origin] = min(lowestFork[event.origin] ?? event.originSeq, event.originSeq)
    }

    /// The lowest position of `origin`'s fork evidence, or `nil` when it has none.
    func forkPosition(of origin: Identifier) throws(StoreError) -> Int64? {
        guard forkOrigins.contains(origin) else { throw Self.notFetched("fork evidence of \(origin)") }
        return lowestFork[origin]
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

    private static func notFetched(_ what: String) -> StoreError {
        StoreError(.internalError, "admission asked for \(what), which the PostgreSQL driver did not fetch")
    }
}

/// What admission reads of the log for a group of events, as rows of `(kind, key, other, seq, hash)`: `$1` event ids,
/// `$2`/`$3` chain positions, `$4` origins (their heads, fork evidence, and whether events of theirs wait to be
/// retried), `$5`/`$6` (origin, patient) chains.
enum AdmissionReads: FixedStatement {
    static let heldID: Int32 = 0
    static let waiting: Int32 = 1
    static let heldPosition: Int32 = 2
    static let head: Int32 = 3
    static let forkEvidence: Int32 = 4
    static let patientHead: Int32 = 5
    static let waitingOrigin: Int32 = 6

    static let sql = """
        SELECT 0, id, NULL::text, NULL::bigint, hash FROM events WHERE id = ANY($1::text[])
        UNION ALL
        SELECT 1, id, NULL, NULL, NULL FROM quarantine WHERE id = ANY($1::text[])
        UNION ALL
        SELECT 2, e.origin, NULL, e.origin_seq, e.hash FROM events e
            JOIN unnest($2::text[], $3::bigint[]) AS p(origin, seq) ON e.origin = p.origin AND e.origin_seq = p.seq
        UNION ALL
        SELECT 3, o.origin, NULL, coalesce(h.origin_seq, 0), h.hash FROM unnest($4::text[]) AS o(origin)
            LEFT JOIN LATERAL (
                SELECT origin_seq, hash FROM events WHERE origin = o.origin ORDER BY origin_seq DESC LIMIT 1
            ) h ON true
        UNION ALL
        SELECT 4, origin, NULL, origin_seq, other_hash FROM forks WHERE origin = ANY($4::text[])
        UNION ALL
        SELECT 5, c.origin, c.patient, NULL, (
            SELECT hash FROM events e WHERE e.patient = c.patient AND e.origin = c.origin ORDER BY e.origin_seq DESC LIMIT 1)
        FROM unnest($5::text[], $6::text[]) AS c(origin, patient)
        UNION ALL
        SELECT DISTINCT 6, origin, NULL::text, NULL::bigint, NULL::bytea FROM quarantine
            WHERE origin = ANY($4::text[]) AND retry
        """
}
