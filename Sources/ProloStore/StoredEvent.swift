public import ProloDomain

/// An event as this store holds it: the signed event plus where and when it arrived here.
public struct StoredEvent: Sendable, Hashable {
    /// Local arrival order in this store (not shared between devices).
    public let seq: Int64
    /// When this store appended it (local clock).
    public let receivedAt: Timestamp
    /// The signed event.
    public let event: Event
}

/// Which events a read returns. Fields left `nil` do not filter.
public struct EventFilter: Sendable, Hashable {
    /// Only this patient's events.
    public var patient: PatientID?
    /// Only events of this type.
    public var type: EventType?
    /// Only events of this origin.
    public var origin: Identifier?
    /// With ``origin``: only these `originSeq`s.
    public var originSeqs: ClosedRange<Int64>?
    /// Only events with a local `seq` above this.
    public var afterSeq: Int64?
    /// At most this many events (the latest ones when ``newestFirst``).
    public var limit: Int?
    /// Return the newest first (by local seq).
    public var newestFirst: Bool

    /// A filter; everything by default.
    public init(
        patient: PatientID? = nil, type: EventType? = nil, origin: Identifier? = nil,
        originSeqs: ClosedRange<Int64>? = nil, afterSeq: Int64? = nil, limit: Int? = nil, newestFirst: Bool = false
    ) {
        self.patient = patient
        self.type = type
        self.origin = origin
        self.originSeqs = originSeqs
        self.afterSeq = afterSeq
        self.limit = limit
        self.newestFirst = newestFirst
    }
}

/// What a store is: its instance id and the device it belongs to.
public struct StoreIdentity: Sendable, Hashable {
    /// A random id made when the store was created; a restored copy keeps it, a new store gets another.
    public let storeID: String
    /// The device name given at `prolo init`.
    public let deviceName: String
    /// The public key of this store's device.
    public let publicKey: DevicePublicKey
    /// The origin id of events this device records.
    public var origin: Identifier { publicKey.origin }
}

/// The result of appending events received from elsewhere.
public struct AppendOutcome: Sendable, Hashable {
    /// Events newly stored, in the order given.
    public var appended: [StoredEvent] = []
    /// Events already held (same id and hash): skipped, so re-sending changes nothing.
    public var alreadyPresent = 0
}
