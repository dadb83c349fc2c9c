/// Chains a device's new events onto its log: assigns id, `originSeq`, `prev`, `patientPrev` and HLC, then hashes.
///
/// Linking is sequential (each hash feeds the next `prev`); signing the resulting ``UnsignedEvent``s is
/// independent per event and can run on every core.
public struct EventSealer: Sendable {
    /// The origin id of the device.
    public let origin: Identifier
    /// The highest `originSeq` chained so far (0 before the first event).
    public private(set) var lastSeq: Int64
    /// The hash of the last chained event.
    public private(set) var lastHash: EventHash?
    /// The device's clock.
    public private(set) var clock: HybridClock
    private var patientHeads: [PatientID: EventHash] = [:]

    /// A sealer continuing the origin's chain from its current head.
    public init(origin: Identifier, lastSeq: Int64, lastHash: EventHash?, clock: HybridClock) {
        self.origin = origin
        self.lastSeq = lastSeq
        self.lastHash = lastHash
        self.clock = clock
    }

    /// Links a compressed draft as the next event of this origin.
    /// - Parameters:
    ///   - compressed: the draft with its body already compressed.
    ///   - wallMilliseconds: the local wall clock, which the hybrid clock advances from.
    ///   - patientHead: looks up the hash of this origin's latest event for a patient not yet chained by this sealer.
    public mutating func link<Failure: Error>(
        _ compressed: CompressedDraft, wallMilliseconds: Int64, patientHead: (PatientID) throws(Failure) -> EventHash?
    ) throws(Failure) -> UnsignedEvent {
        let draft = compressed.draft
        let hlc = clock.tick(wallMilliseconds: wallMilliseconds)
        let id = UUIDv7.make(milliseconds: hlc.wallMilliseconds)
        var patientPrev: EventHash?
        if let patient = draft.patient {
            if let cached = patientHeads[patient] {
                patientPrev = cached
            } else {
                patientPrev = try patientHead(patient)
            }
        }
        let seq = lastSeq + 1
        let prev = lastHash
        let envelope = Event.canonicalEnvelope(
            id: id, origin: origin, originSeq: seq, prev: prev, patientPrev: patientPrev, hlc: hlc,
            occurredAt: draft.occurredAt, patient: draft.patient, type: draft.type, schemaVersion: draft.schemaVersion,
            author: draft.author, dictionary: compressed.dictionary)
        let hash = Event.computeHash(envelope: envelope, body: compressed.body)
        lastSeq = seq
        lastHash = hash
        if let patient = draft.patient { patientHeads[patient] = hash }
        return UnsignedEvent(
            id: id, origin: origin, originSeq: seq, prev: prev, patientPrev: patientPrev, hlc: hlc, draft: draft,
            dictionary: compressed.dictionary, body: compressed.body, hash: hash)
    }
}

/// A chained and hashed event that still needs its signature.
public struct UnsignedEvent: Sendable {
    let id: EventID
    let origin: Identifier
    let originSeq: Int64
    let prev: EventHash?
    let patientPrev: EventHash?
    let hlc: HLC
    let draft: EventDraft
    let dictionary: Int
    let body: [UInt8]
    /// The event's hash, which the signature covers.
    public let hash: EventHash

    /// Signs the hash with the origin's key.
    public func signed(with key: DeviceKey) throws(IdentityError) -> Event {
        Event(
            id: id, origin: origin, originSeq: originSeq, prev: prev, patientPrev: patientPrev, hlc: hlc,
            occurredAt: draft.occurredAt, patient: draft.patient, type: draft.type,
            schemaVersion: draft.schemaVersion, author: draft.author, dictionary: dictionary, body: body, hash: hash,
            signature: try key.signature(for: hash.bytes))
    }
}
