public import ProloDomain
public import ProloStore

/// The rules `prolo audit verify` holds a log to, apart from where the log is stored.
///
/// A backend's driver (``ChainVerifier`` for SQLite, `PostgresChainVerifier` for PostgreSQL) reads the log and
/// feeds it here in four passes, stopping at the first problem returned:
/// 1. ``rebuildRegistry(_:)`` with every `device.enrolled` / `device.revoked` row in canonical order: the registry
///    is rebuilt from the signed events, chaining back to the clinic's root key, not read from a table a tamperer
///    could edit;
/// 2. for each origin, ``beginChain(_:first:)`` then ``checkPage(_:)`` with its rows in `originSeq` order, a page
///    at a time (memory holds one page and one hash per patient), then ``endChain()``;
/// 3. ``checkFork(origin:originSeq:otherID:frozen:)`` for every fork kept as evidence;
/// 4. ``checkDerivedColumn(origin:originSeq:eventID:occurredAt:occurredMilliseconds:)`` for every row.
/// The driver adds what only it can see (the append-only triggers of its backend). Nothing here reads storage.
public struct ChainAudit: Sendable {
    /// What was covered so far; ``VerificationReport/firstProblem`` is left to the driver.
    public private(set) var report = VerificationReport()
    /// The registry rebuilt from the log's own registry events.
    public private(set) var registry: DeviceRegistry
    private let slice: PatientID?
    private let ownOrigin: Identifier
    private let heldAfterRevocation: Set<String>
    private let heldBrokenPatientLinks: Set<String>
    private let names: [String: String]

    // The chain being walked.
    private var origin = ""
    private var device: DeviceRecord?
    private var sliced = false
    private var expected: Int64 = 1
    private var previous: EventHash?
    private var patientHeads: [String: EventHash] = [:]

    /// Starts an audit of a store whose root key is `root`.
    /// - Parameters:
    ///   - slice: the patient of a home store, which holds other devices' chains as slices (linked by
    ///     `patientPrev`, not gapless from 1); `nil` for a full replica.
    ///   - ownOrigin: the store's own origin, whose chain is whole even on a home store.
    ///   - heldAfterRevocation: ids of events the store holds flagged `after-revocation`.
    ///   - heldBrokenPatientLinks: ids of events the store holds flagged `broken-patient-link`.
    ///   - names: device names by origin, for the report's heads.
    public init(
        root: DevicePublicKey, slice: PatientID?, ownOrigin: Identifier, heldAfterRevocation: Set<String>,
        heldBrokenPatientLinks: Set<String> = [], names: [String: String]
    ) {
        registry = DeviceRegistry([DeviceRecord(publicKey: root, name: "clinic root", role: .root)])
        self.slice = slice
        self.ownOrigin = ownOrigin
        self.heldAfterRevocation = heldAfterRevocation
        self.heldBrokenPatientLinks = heldBrokenPatientLinks
        self.names = names
    }

    /// A row that does not decode, named by its own position and id (plain columns even when others do not decode).
    public static func damaged(_ row: EventRow, _ error: StoreError) -> VerificationProblem {
        VerificationProblem(kind: .damagedRow, origin: row.origin, originSeq: row.originSeq, eventID: row.id, message: error.message)
    }

    // MARK: 1. Registry

    /// Applies one registry row (in canonical order). As on append, a registry event whose signer was not admitted
    /// by then has no effect; its own chain is verified in pass 2, where a signer no enrollment admits is reported.
    public mutating func rebuildRegistry(_ row: EventRow) -> VerificationProblem? {
        let event: Event
        do {
            event = try row.decoded().event
        } catch {
            return Self.damaged(row, error)
        }
        let problem = { (kind: VerificationProblem.Kind, message: String) in
            VerificationProblem(kind: kind, origin: event.origin.text, originSeq: event.originSeq, eventID: event.id.text, message: message)
        }
        guard event.hasValidHash else { return problem(.badHash, "the hash does not match the envelope and body") }
        guard let signer = registry.devices[event.origin] else { return nil }
        guard signer.publicKey.isValidSignature(event.signature, for: event.hash.bytes) else {
            return problem(.badSignature, "the signature does not verify with the key of origin \(event.origin)")
        }
        // Hash and signature hold, so the body is as its signer wrote it: a payload this build cannot read is
        // authentic history with no effect, as on append (flagged `registry-refused` there), not damage.
        guard let payload = try? event.payload() else { return nil }
        _ = try? registry.apply(event, payload: payload)
        return nil
    }

    // MARK: 2. Chains

    /// Starts the chain of `origin`. `first` is its lowest row's position, id and type, asked for only when no
    /// enrollment admits the origin, to name the problem.
    public mutating func beginChain(
        _ origin: String, first: () throws(StoreError) -> (originSeq: Int64, id: String, type: String)
    ) throws(StoreError) -> VerificationProblem? {
        self.origin = origin
        expected = 1
        previous = nil
        patientHeads = [:]
        guard let originID = try? Identifier(checked: origin), let device = registry.devices[originID] else {
            device = nil
            return Self.unenrolled(origin, first: try first())
        }
        self.device = device
        sliced = slice != nil && originID != ownOrigin
        return nil
    }

    /// The problem of an origin no enrollment chaining to the root admits, named at its first row.
    public static func unenrolled(_ origin: String, first: (originSeq: Int64, id: String, type: String))
        -> VerificationProblem
    {
        let isRegistry = first.type == EventType.deviceEnrolled.rawValue || first.type == EventType.deviceRevoked.rawValue
        return VerificationProblem(
            kind: isRegistry ? .untrustedEnrollment : .unenrolledOrigin, origin: origin, originSeq: first.originSeq,
            eventID: first.id,
            message: isRegistry
                ? "\(first.type) signed by origin \(origin), which no enrollment chaining to the root admits"
                : "the log holds events of origin \(origin), which no enrollment chaining to the root admits")
    }

    /// Where the next page starts: rows of the chain with `originSeq` above this.
    public var resumeAfter: Int64 { expected - 1 }

    /// Checks the next rows of the chain begun last, in `originSeq` order; hashes and signatures on every core.
    public mutating func checkPage(_ rows: [EventRow]) throws(StoreError) -> VerificationProblem? {
        guard let device else { return nil }
        var page: [Event] = []
        page.reserveCapacity(rows.count)
        for row in rows {
            do {
                page.append(try row.decoded().event)
            } catch {
                return Self.damaged(row, error)
            }
        }
        let key = device.publicKey
        let checks: [(Bool, Bool)]
        do {
            checks = try Parallel.map(page, minimumPerWorker: 64) { event in
                let hashOK = event.hasValidHash
                return (hashOK, hashOK && key.isValidSignature(event.signature, for: event.hash.bytes))
            }
        } catch {
            throw StoreError(.internalError, "cannot verify events: \(error)")
        }
        for (event, (hashOK, signatureOK)) in zip(page, checks) {
            if let problem = check(event, device: device, hashOK: hashOK, signatureOK: signatureOK) { return problem }
        }
        return nil
    }

    private mutating func check(_ event: Event, device: DeviceRecord, hashOK: Bool, signatureOK: Bool)
        -> VerificationProblem?
    {
        let origin = self.origin
        let problem = { (kind: VerificationProblem.Kind, message: String) in
            VerificationProblem(kind: kind, origin: origin, originSeq: event.originSeq, eventID: event.id.text, message: message)
        }
        if !sliced {
            // The link rule admission applies (ChainLink): the next position, its prev the hash before it.
            switch ChainLink(event, head: ChainHead(seq: expected - 1, hash: previous)) {
            case .follows: break
            case .otherBranch: return problem(.brokenLink, "prev does not match the hash of originSeq \(expected - 1)")
            case .gap, .atHeldPosition:
                return problem(.gap, "expected originSeq \(expected), found \(event.originSeq): an event is missing")
            }
        }
        guard hashOK else { return problem(.badHash, "the hash does not match the envelope and the stored body") }
        guard signatureOK else {
            return problem(.badSignature, "the signature does not verify with the enrolled key of device \(device.name)")
        }
        if let revoked = device.revokedAfter, event.hlc > revoked {
            guard heldAfterRevocation.contains(event.id.text) else {
                return problem(
                    .revoked,
                    "recorded at \(event.hlc), after device \(device.name) was revoked at \(revoked), and not held out "
                        + "of the read models")
            }
            report.heldAfterRevocation += 1
        }
        // A broken patient link the store holds flagged (a device's bug, kept so its chain goes on) is counted; an
        // unflagged one is a finding. Later events of the origin link to the held one, as admission stored them.
        let brokenLink: String? =
            if let patient = event.patient {
                event.patientPrev == patientHeads[patient.text]
                    ? nil : "patientPrev does not match the previous event of this origin for patient \(patient)"
            } else {
                event.patientPrev == nil ? nil : "an administrative event names a patientPrev"
            }
        if let brokenLink {
            guard heldBrokenPatientLinks.contains(event.id.text) else { return problem(.brokenPatientLink, brokenLink) }
            report.heldBrokenPatientLinks += 1
        }
        if let patient = event.patient { patientHeads[patient.text] = event.hash }
        previous = event.hash
        expected = event.originSeq + 1
        report.eventsChecked += 1
        return nil
    }

    /// Ends the chain begun last: its head goes into the report.
    public mutating func endChain() {
        guard let device, let previous else { return }
        report.heads.append(
            VerificationReport.Head(origin: origin, device: names[origin] ?? device.name, originSeq: expected - 1, hash: previous.hex))
    }

    // MARK: 3, 4. Forks and derived columns

    /// Fork evidence must have frozen its origin: no fork goes unreported.
    public static func checkFork(origin: String, originSeq: Int64, otherID: String, frozen: Bool) -> VerificationProblem? {
        guard !frozen else { return nil }
        return VerificationProblem(
            kind: .unreportedFork, origin: origin, originSeq: originSeq, eventID: otherID,
            message: "fork evidence is held but origin \(origin) is not frozen")
    }

    /// `occurred_ms` is derived from the signed `occurred_at` for range queries; it must agree with it.
    public static func checkDerivedColumn(
        origin: String, originSeq: Int64, eventID: String, occurredAt: String, occurredMilliseconds: Int64
    ) -> VerificationProblem? {
        let signed = try? Timestamp(checked: occurredAt)
        guard signed?.millisecondsSinceEpoch != occurredMilliseconds else { return nil }
        return VerificationProblem(
            kind: .derivedColumn, origin: origin, originSeq: originSeq, eventID: eventID,
            message: "occurred_ms \(occurredMilliseconds) does not match the signed occurredAt \(occurredAt)")
    }

    /// A value a backend derives from the log and keeps beside it (a hub's `origin_heads`) that disagrees with the
    /// log, at `origin` and the position the log holds, when there is one.
    public static func derivedValue(_ message: String, origin: String? = nil, originSeq: Int64? = nil) -> VerificationProblem {
        VerificationProblem(kind: .derivedColumn, origin: origin, originSeq: originSeq, eventID: nil, message: message)
    }

    /// The missing or disabled append-only trigger `name` of a backend.
    public static func missingTrigger(_ name: String) -> VerificationProblem {
        VerificationProblem(
            kind: .missingTrigger, origin: nil, originSeq: nil, eventID: nil,
            message: "the append-only trigger \(name) on events is missing: the log could have been edited")
    }
}
