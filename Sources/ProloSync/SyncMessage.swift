public import ProloDomain
public import ProloStore

/// What one side tells the other before any event moves: who it is, whom it trusts, what it may receive,
/// and what it holds.
public struct SyncHello: Sendable, Hashable {
    /// The store instance id (a restored copy keeps it; a checkpoint is kept per store id).
    public let storeID: String
    /// The clinic root key the side trusts; peers of different roots do not sync.
    public let root: DevicePublicKey
    /// The device's own key.
    public let device: DevicePublicKey
    /// What the side may receive.
    public let scope: SyncScope
    /// What it holds, in that scope.
    public let vector: VersionVector
    /// The hash of the event it holds at each origin's position in ``vector``, and where it knows of forks: what
    /// tells two branches of one origin apart (empty from an older peer, which is served by the vector alone).
    public let heads: ChainHeads

    public init(
        storeID: String, root: DevicePublicKey, device: DevicePublicKey, scope: SyncScope, vector: VersionVector,
        heads: ChainHeads = ChainHeads()
    ) {
        self.storeID = storeID
        self.root = root
        self.device = device
        self.scope = scope
        self.vector = vector
        self.heads = heads
    }
}

/// The messages of the sync protocol (DESIGN §6).
public enum SyncMessage: Sendable, Hashable {
    /// Opens the exchange.
    case hello(SyncHello)
    /// A byte-bounded batch of events the peer is missing, in the wire format, each origin in `originSeq`
    /// order; `last` marks the sender's final batch (it may be empty: the in-sync case).
    case events([[UInt8]], last: Bool)
}

/// What a sync did, as the CLI reports it.
public struct SyncReport: Sendable, Hashable {
    /// Events stored here for the first time.
    public var new = 0
    /// Events received that were already held.
    public var alreadyPresent = 0
    /// Events received and kept in quarantine.
    public var quarantined = 0
    /// Events that proved a fork.
    public var forks = 0
    /// New events stored but held out of the read models: validly signed, with a payload this build cannot read
    /// (counted in ``new`` too).
    public var held = 0
    /// Quarantined events admitted because this sync brought what they waited for.
    public var admittedFromQuarantine = 0
    /// Events sent to the peer.
    public var sent = 0
    /// Batches received.
    public var batches = 0

    public init() {}

    /// Adds one append's outcome.
    public mutating func add(_ outcome: AppendOutcome) {
        new += outcome.appended.count - outcome.admittedFromQuarantine
        alreadyPresent += outcome.alreadyPresent
        quarantined += outcome.quarantined.count
        forks += outcome.forks.count
        held += outcome.held.count
        admittedFromQuarantine += outcome.admittedFromQuarantine
    }
}
