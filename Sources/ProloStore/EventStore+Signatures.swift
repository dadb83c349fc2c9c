public import ProloDomain

/// The signatures a store leaves unchecked at the hash-chain limit (``SignatureRuns``) and checks later.
extension EventStore {
    /// The flag of an event whose own signature does not verify although its run's last signature authenticated its
    /// content: an integrity alert of its origin (listed with the alerts, like a fork); never served to a slice.
    public static let badSignatureFlag = "bad-signature"

    /// Checks the signatures left unchecked (``SignatureRuns``) of the events a slice of `patient` may be served (its
    /// events and the administrative ones), or of every event with `nil`. One that verifies leaves the list; one that
    /// does not is flagged ``badSignatureFlag``. Returns the events flagged now. Costs one `EXISTS` query when
    /// nothing is unchecked.
    @discardableResult
    public func checkUncheckedSignatures(about patient: PatientID?) throws(StoreError) -> [EventID] {
        // By the marks' own patient index: a server with many unchecked events answers each slice's pull from it.
        let marks = patient == nil
            ? "SELECT seq FROM unchecked_signatures"
            : "SELECT seq FROM unchecked_signatures WHERE patient = ?1 UNION ALL "
                + "SELECT seq FROM unchecked_signatures WHERE patient IS NULL"
        let sql = "SELECT \(Self.columns) FROM events WHERE seq IN (\(marks))"
        let pending = try read { connection throws(StoreError) -> Bool in
            let statement = try connection.statement("SELECT EXISTS (\(marks))")
            if let patient { statement.bind(1, patient.text) }
            defer { statement.reset() }
            _ = try statement.step()
            return statement.int64(0) != 0
        }
        guard pending else { return [] }
        return try write { connection throws(StoreError) -> [EventID] in
            let registry = try self.registry(connection, remember: false)
            let statement = try connection.statement(sql + " ORDER BY seq")
            if let patient { statement.bind(1, patient.text) }
            var events: [StoredEvent] = []
            while try statement.step() { events.append(try Self.decodeRow(statement)) }
            statement.reset()
            let keys = events.map { registry.devices[$0.event.origin]?.publicKey }
            let valid: [Bool]
            do {
                valid = try Parallel.map(Array(zip(events, keys)), minimumPerWorker: 32) { stored, key in
                    key?.isValidSignature(stored.event.signature, for: stored.event.hash.bytes) ?? false
                }
            } catch {
                throw StoreError(.internalError, "cannot verify events: \(error)")
            }
            var flagged: [EventID] = []
            for (stored, isValid) in zip(events, valid) {
                let settled = try connection.statement("DELETE FROM unchecked_signatures WHERE seq = ?")
                settled.bind(1, stored.seq)
                try settled.run()
                guard !isValid else { continue }
                try Self.flag(
                    stored.event.id, Self.badSignatureFlag,
                    "origin \(stored.event.origin), originSeq \(stored.event.originSeq): its signature does not verify "
                        + "with the origin's enrolled key, though the signed event after it in its chain vouches for "
                        + "its content; the device signs wrongly or was tampered with", connection)
                flagged.append(stored.event.id)
            }
            return flagged
        }
    }

    /// The events flagged ``badSignatureFlag``, oldest first.
    public func badSignatures() throws(StoreError) -> [BadSignature] {
        try read { connection throws(StoreError) -> [BadSignature] in
            let statement = try connection.statement(
                """
                SELECT f.id, e.origin, e.origin_seq, e.patient, e.received_at, f.detail FROM event_flags f
                JOIN events e ON e.id = f.id WHERE f.flag = ? ORDER BY e.seq
                """)
            statement.bind(1, Self.badSignatureFlag)
            var result: [BadSignature] = []
            while try statement.step() {
                result.append(
                    BadSignature(
                        id: statement.text(0), origin: statement.text(1), originSeq: statement.int64(2),
                        patient: statement.optionalText(3),
                        detectedAt: Timestamp(millisecondsSinceEpoch: statement.int64(4)), detail: statement.text(5)))
            }
            statement.reset()
            return result
        }
    }

    /// How many events' own signatures are still unchecked here.
    public func uncheckedSignatureCount() throws(StoreError) -> Int {
        try read { connection throws(StoreError) -> Int in
            let statement = try connection.statement("SELECT count(*) FROM unchecked_signatures")
            defer { statement.reset() }
            _ = try statement.step()
            return Int(statement.int64(0))
        }
    }
}

/// An event whose own signature does not verify, found after its run's anchor had vouched for its content.
public struct BadSignature: Sendable, Hashable {
    public let id: String
    public let origin: String
    public let originSeq: Int64
    public let patient: String?
    /// When this store received the event.
    public let detectedAt: Timestamp
    public let detail: String

    package init(id: String, origin: String, originSeq: Int64, patient: String?, detectedAt: Timestamp, detail: String) {
        self.id = id
        self.origin = origin
        self.originSeq = originSeq
        self.patient = patient
        self.detectedAt = detectedAt
        self.detail = detail
    }
}
