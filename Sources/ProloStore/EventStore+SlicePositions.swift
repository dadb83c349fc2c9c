public import ProloDomain

/// How far a patient's slice reaches, read from the indexes without reading an event's body.
public struct SlicePositions: Sendable {
    /// Per origin, the highest position among the patient's own events a slice is served (none held out of scope
    /// or with a bad signature), and among the fork evidence about the patient.
    public let own: VersionVector
    /// The administrative events (no patient: enrollments, revocations) a slice may be served, by position; whether
    /// a slice admits one depends on its payload, which the caller decides (`SyncScope` in ProloSync).
    public let administrative: [Position]
    /// Fork evidence about no patient (another branch's administrative event), decided by its payload too.
    public let administrativeEvidence: [Event]

    /// An administrative event's place in this store (`seq`, read with ``EventStore/event(seq:)``) and position.
    public struct Position: Sendable, Hashable {
        public let seq: Int64
        public let origin: String
        public let originSeq: Int64

        package init(seq: Int64, origin: String, originSeq: Int64) {
            self.seq = seq
            self.origin = origin
            self.originSeq = originSeq
        }
    }

    package init(own: VersionVector, administrative: [Position], administrativeEvidence: [Event]) {
        self.own = own
        self.administrative = administrative
        self.administrativeEvidence = administrativeEvidence
    }
}

extension EventStore {
    /// What ``scanMissing(from:heads:patient:_:)`` would serve a slice of `patient` that holds nothing, by position:
    /// the events it reads, the same flags keeping the same events out, the same signatures checked first
    /// (``checkUncheckedSignatures(about:)``). A server announces a slice's version vector on every home device's
    /// sync; reading the slice itself for it cost a read and an inflate per event (issue 13, item 5).
    public func slicePositions(patient: PatientID) throws(StoreError) -> SlicePositions {
        try checkUncheckedSignatures(about: patient)
        let served = Self.servedToSlices
        return try read { connection throws(StoreError) -> SlicePositions in
            var own = VersionVector()
            let patientEvents = try connection.statement(
                "SELECT origin, max(origin_seq) FROM events WHERE patient = ? AND \(served) GROUP BY origin")
            patientEvents.bind(1, patient.text)
            while try patientEvents.step() { own.advance(patientEvents.text(0), to: patientEvents.int64(1)) }
            patientEvents.reset()

            var administrative: [SlicePositions.Position] = []
            let administrativeEvents = try connection.statement(
                "SELECT seq, origin, origin_seq FROM events WHERE patient IS NULL AND \(served)")
            while try administrativeEvents.step() {
                administrative.append(
                    .init(
                        seq: administrativeEvents.int64(0), origin: administrativeEvents.text(1),
                        originSeq: administrativeEvents.int64(2)))
            }
            administrativeEvents.reset()

            // Fork evidence follows `forkEvidence(of:patient:)`: the patient's, and any about no patient.
            var administrativeEvidence: [Event] = []
            let evidence = try connection.statement(
                "SELECT origin, origin_seq, patient, event FROM forks WHERE patient = ? OR patient IS NULL")
            evidence.bind(1, patient.text)
            while try evidence.step() {
                if evidence.isNull(2) {
                    if let event = try? EventWireCodec.decode(evidence.blob(3)) { administrativeEvidence.append(event) }
                } else {
                    own.advance(evidence.text(0), to: evidence.int64(1))
                }
            }
            evidence.reset()
            return SlicePositions(own: own, administrative: administrative, administrativeEvidence: administrativeEvidence)
        }
    }

    /// The event stored at `seq`.
    public func event(seq: Int64) throws(StoreError) -> StoredEvent? {
        try read { connection throws(StoreError) -> StoredEvent? in
            let statement = try connection.statement("SELECT \(Self.columns) FROM events WHERE seq = ?")
            statement.bind(1, seq)
            defer { statement.reset() }
            return try statement.step() ? try Self.decodeRow(statement) : nil
        }
    }
}
