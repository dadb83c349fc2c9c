public import ProloDomain

/// An event as this store holds it: the signed event plus where and when it arrived here.
public struct StoredEvent: Sendable, Hashable {
    /// Local arrival order in this store (not shared between devices).
    public let seq: Int64
    /// When this store appended it (local clock).
    public let receivedAt: Timestamp
    /// The signed event.
    public let event: Event

    package init(seq: Int64, receivedAt: Timestamp, event: Event) {
        self.seq = seq
        self.receivedAt = receivedAt
        self.event = event
    }
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
    /// The clinic's root key: the trust anchor of the device registry.
    public let rootPublicKey: DevicePublicKey
    /// For a home device, the one patient whose record it holds (a slice of the clinic's log).
    public let homePatient: PatientID?
    /// The origin id of events this device records.
    public var origin: Identifier { publicKey.origin }
    /// Whether this store is the clinic's root device.
    public var isClinicRoot: Bool { rootPublicKey == publicKey }
}

extension StoreIdentity {
    /// The keys of `store_meta` an identity is read from, in every backend.
    package static let metaKeys = ["store_id", "device_name", "device_public_key", "root_public_key", "home_patient"]

    /// The identity `store_meta` holds (``metaKeys``), or `not-a-store` naming `place` when it is incomplete.
    package init(meta: [String: String], of place: String) throws(StoreError) {
        guard let storeID = meta["store_id"], let deviceName = meta["device_name"],
            let publicKey = meta["device_public_key"].flatMap({ try? DevicePublicKey(base64: $0) })
        else {
            throw StoreError(.notAStore, "\(place) is missing its device identity; it is not a complete Prolo store")
        }
        guard let root = meta["root_public_key"].flatMap({ try? DevicePublicKey(base64: $0) }) else {
            throw StoreError(.notAStore, "\(place) does not name its clinic's root key; it is not a complete Prolo store")
        }
        self.init(
            storeID: storeID, deviceName: deviceName, publicKey: publicKey, rootPublicKey: root,
            homePatient: meta["home_patient"].flatMap { try? PatientID(checked: $0) })
    }
}

/// Whom a new store trusts.
public enum StoreTrust: Sendable, Hashable {
    /// This device is a clinic's root: its own key is the trust anchor.
    case clinicRoot
    /// This device joins the clinic whose root key is given; a home device names its one patient.
    case joining(root: DevicePublicKey, homePatient: PatientID?)
}

/// The result of appending events received from elsewhere.
public struct AppendOutcome: Sendable, Hashable {
    /// Events newly stored, in the order stored (including quarantined ones admitted by this batch).
    public var appended: [StoredEvent] = []
    /// Events already held (same id and hash): skipped, so re-sending changes nothing.
    public var alreadyPresent = 0
    /// Events of this batch kept in quarantine, with the reason.
    public var quarantined: [QuarantinedEvent] = []
    /// Events that proved a fork (kept as evidence; their origin is frozen).
    public var forks: [EventID] = []
    /// Events flagged by this append (`future-hlc`, `registry-refused`, `invalid-payload`, `unknown-schema-version`,
    /// the review holds), each once. A set in meaning: SQLite lists them as flagged, a PostgreSQL hub a review hold's
    /// events when its queued write returns.
    public var flagged: [EventID] = []
    /// Validly signed events this build cannot read (a payload that breaks its schema or does not inflate, an
    /// unknown schema version): stored and flagged, left out of the read models, shown to the clinic for review.
    public var held: [HeldEvent] = []
    /// Events admitted from quarantine because this batch brought what they waited for.
    public var admittedFromQuarantine = 0
    /// Events a home store skipped because they are about another patient (never stored there).
    public var outOfScope = 0

    public init() {}
}

/// A validly signed event stored in the log but held out of the read models, because this build cannot read
/// its payload (DESIGN §6 "Verified"). A build that reads it folds it on `rebuild`.
public struct HeldEvent: Sendable, Hashable {
    /// The event id.
    public let id: EventID
    /// Its origin and position.
    public let origin: Identifier
    public let originSeq: Int64
    /// The patient it concerns, if the envelope names one.
    public let patient: PatientID?
    /// Its type and schema version, as signed.
    public let type: EventType
    public let schemaVersion: Int
    /// Why it is held: `invalid-payload` or `unknown-schema-version`, with the detail.
    public let reason: UnreadablePayload
    /// When this store received it.
    public let receivedAt: Timestamp

    public init(
        id: EventID, origin: Identifier, originSeq: Int64, patient: PatientID?, type: EventType, schemaVersion: Int,
        reason: UnreadablePayload, receivedAt: Timestamp
    ) {
        self.id = id
        self.origin = origin
        self.originSeq = originSeq
        self.patient = patient
        self.type = type
        self.schemaVersion = schemaVersion
        self.reason = reason
        self.receivedAt = receivedAt
    }

    /// The held record of a stored event.
    public init(_ event: Event, reason: UnreadablePayload, receivedAt: Timestamp) {
        self.init(
            id: event.id, origin: event.origin, originSeq: event.originSeq, patient: event.patient, type: event.type,
            schemaVersion: event.schemaVersion, reason: reason, receivedAt: receivedAt)
    }
}

/// An event received but not admitted, and why.
public struct QuarantinedEvent: Sendable, Hashable {
    /// The event id.
    public let id: EventID
    /// Its origin and position.
    public let origin: Identifier
    public let originSeq: Int64
    /// Why it waits.
    public let reason: String

    package init(id: EventID, origin: Identifier, originSeq: Int64, reason: String) {
        self.id = id
        self.origin = origin
        self.originSeq = originSeq
        self.reason = reason
    }
}
