package import ProloDomain

/// What admission reads of the log it admits into: a backend answers from its own tables, inside the append's
/// transaction (an ``AdmissionBackend``: SQLite's, PostgreSQL's prefetched reads, a dictionary in the tests).
package protocol AdmissionLog {
    /// The hash of the event held under `id`, or `nil` when none is.
    func hash(of id: EventID) throws(StoreError) -> EventHash?
    /// The hash of `origin`'s event held at `originSeq`, or `nil`.
    func hash(origin: Identifier, originSeq: Int64) throws(StoreError) -> EventHash?
    /// Whether `event` is held as fork evidence already.
    func isForkEvidence(_ event: Event) throws(StoreError) -> Bool
    /// The highest position of `origin` held and its hash; `(0, nil)` when none is.
    func chainHead(of origin: Identifier) throws(StoreError) -> ChainHead
    /// The hash of `origin`'s latest held event about `patient`, or `nil`.
    func patientHead(origin: Identifier, patient: PatientID) throws(StoreError) -> EventHash?
}

/// Where an origin's chain stands in a log.
package struct ChainHead: Sendable, Hashable {
    package var seq: Int64
    package var hash: EventHash?

    package init(seq: Int64, hash: EventHash?) {
        self.seq = seq
        self.hash = hash
    }

    /// An origin with nothing held.
    package static let empty = ChainHead(seq: 0, hash: nil)
}

/// How an event stands to its origin's chain head (DESIGN §3): the one rule of chain links, for admission and for
/// the auditor (`ChainAudit`).
package enum ChainLink: Sendable, Hashable {
    /// The head's successor, its `prev` the head's hash.
    case follows
    /// At or below the head: held already, or a second event at a held position.
    case atHeldPosition
    /// Beyond the head's successor: the events between are missing.
    case gap(expected: Int64)
    /// The head's successor position, with another `prev`: a branch of the chain.
    case otherBranch

    package init(_ event: Event, head: ChainHead) {
        if event.originSeq <= head.seq {
            self = .atHeldPosition
        } else if event.originSeq > head.seq + 1 {
            self = .gap(expected: head.seq + 1)
        } else {
            self = event.prev == head.hash ? .follows : .otherBranch
        }
    }
}

/// What to do with one received event: the answer of ``EventAdmission/step(_:fromQuarantine:)``.
package enum AdmissionStep: Sendable, Equatable {
    /// Held already (or held already as fork evidence): counted as present, nothing written.
    case present
    /// Another patient's event reaching a home store, which keeps no other patient's data, not even in quarantine.
    case outsideSlice
    /// Keep it in quarantine with the reason; `retry`: whether an enrollment or a missing link may admit it later.
    case quarantine(String, retry: Bool)
    /// A second validly signed event at a position of its origin's chain (`heldHash`: the event held there, if any):
    /// record it as evidence and freeze the origin.
    case fork(heldHash: EventHash?)
    /// Store it, then do what the insertion says.
    case insert(Insertion)
}

/// An admitted event's flags and follow-ups.
package struct Insertion: Sendable, Equatable {
    /// Its own signature was not checked (its run's last was, ``SignatureRuns``): list it as unchecked.
    package var uncheckedSignature = false
    /// Flags to record (`event_flags`), in order: `future-hlc`, review holds (the registry's, a broken patient link), an
    /// unreadable payload.
    package var flags: [EventFlag] = []
    /// Held out of the read models (a review hold or an unreadable payload).
    package var outOfFold = false
    /// Why this build cannot read its payload, if so.
    package var unreadable: UnreadablePayload?
    /// A registry event to apply once stored (``EventAdmission/applyRegistry(_:)``).
    package var appliesToRegistry = false
}

/// A flag and its detail.
package struct EventFlag: Sendable, Hashable {
    package let kind: String
    package let detail: String

    package init(_ kind: String, _ detail: String) {
        self.kind = kind
        self.detail = detail
    }
}

/// What applying a stored registry event changed.
package enum RegistryChange: Sendable, Equatable {
    /// The registry refused it (it stays stored, flagged `registry-refused` with the reason).
    case refused(String)
    /// Applied: origins it enrolled, and origins whose revocation it set or moved (to hold what they recorded after).
    case applied(enrolled: [Identifier], revoked: [Identifier: HLC])
}

/// Admission of received events as a pure state machine (DESIGN §6): events and what the log holds in, steps out
/// (present, outside the slice, quarantine with a reason, fork evidence, insert with its flags). It reads the log
/// through ``AdmissionLog`` and writes nothing; ``AdmissionDriver`` performs each step in the backend's transaction and
/// reports the follow-ups (a stored registry event, a fork's position). One rule set for every backend; the chain
/// link rule itself (``ChainLink``) also serves the auditor.
///
/// Refusals are thrown: an event held with other content, a forged signature of an event delivered now. The whole
/// batch is refused. A validly signed event that breaks a rule of its own (an unreadable payload, a `patientPrev`
/// that does not name its origin's previous event about the patient, an event after its device's revocation or
/// outside its device's scope) is stored and held for review instead, so its origin's later events still arrive.
package struct EventAdmission {
    /// The device registry as this batch changes it.
    package var registry: DeviceRegistry
    /// Events whose content a checked signature authenticates (their own, or their run's last).
    let verified: Set<EventID>
    /// Of those, the ones whose own signature was not checked (``SignatureRuns``).
    let unchecked: Set<EventID>
    let payloads: PayloadChecks
    let scope: AppendScope
    /// The one patient of a home store: other origins' chains are held as slices (linked by `patientPrev`).
    let slice: PatientID?
    let ownOrigin: Identifier
    /// The wall clock of this append (ms since epoch): what events stored now record as received.
    package let now: Int64
    /// Origins this batch advanced or enrolled since ``takeTouched()``: their quarantine is worth a retry.
    private var touched: Set<Identifier> = []
    private var heads: [Identifier: ChainHead] = [:]
    /// Observes received readings only to apply its drift bound: the store's own clock is read from the log.
    private var clock = HybridClock()

    package init(
        registry: DeviceRegistry, verified: Set<EventID> = [], unchecked: Set<EventID> = [],
        payloads: PayloadChecks = PayloadChecks(), scope: AppendScope = .unrestricted, slice: PatientID? = nil,
        ownOrigin: Identifier, now: Int64
    ) {
        self.registry = registry
        self.verified = verified
        self.unchecked = unchecked
        self.payloads = payloads
        self.scope = scope
        self.slice = slice
        self.ownOrigin = ownOrigin
        self.now = now
    }

    /// What to do with `event`, delivered now or retried from quarantine. A step of `.insert` counts the event as
    /// this origin's new head: the driver stores it before the next step.
    package mutating func step(_ event: Event, fromQuarantine: Bool, in log: some AdmissionLog)
        throws(StoreError) -> AdmissionStep
    {
        if let held = try log.hash(of: event.id) {
            guard held == event.hash else {
                throw StoreError(
                    .invalidInput,
                    "event \(event.id) is already held with different content (hash \(held.short), received "
                        + "\(event.hash.short)); the batch was refused",
                    event: event.id)
            }
            return .present
        }
        // Evidence of a fork held already: delivered again, it changes nothing (DESIGN §6.2).
        if try log.isForkEvidence(event) { return .present }
        if !fromQuarantine, let outside = scope.refusal(of: event) {
            // Outside what its sender may push (DeviceAccess): kept for the clinic to see, never retried.
            return .quarantine(outside, retry: false)
        }
        if let slice, event.patient != nil, event.patient != slice { return .outsideSlice }
        if let device = registry.devices[event.origin], device.frozenReason != nil,
            let taken = try log.hash(origin: event.origin, originSeq: event.originSeq), taken != event.hash
        {
            // A frozen origin admits nothing, but another conflicting event at a held position is more evidence
            // (perhaps of a lower fork position: every replica ends knowing the lowest).
            guard authentic(event, key: device.publicKey) else { return try forged(event, fromQuarantine) }
            return try fork(event, heldHash: taken)
        }
        let key: DevicePublicKey
        var holds: [EventFlag] = []
        switch registry.admission(of: event) {
        case .refuse(let reason): return .quarantine(reason, retry: true)
        case .admit(let admitted): key = admitted
        case .hold(let admitted, let kind, let reason):
            key = admitted
            holds.append(EventFlag(kind.rawValue, reason))
        }
        guard authentic(event, key: key) else { return try forged(event, fromQuarantine) }
        switch try link(event, in: log) {
        case .linked: break
        case .waits(let step): return step
        case .brokenPatientLink(let reason): holds.append(EventFlag(ReviewHold.brokenPatientLink.rawValue, reason))
        }

        heads[event.origin] = ChainHead(seq: event.originSeq, hash: event.hash)
        touched.insert(event.origin)
        var insertion = Insertion(uncheckedSignature: unchecked.contains(event.id))
        if clock.receive(event.hlc, wallMilliseconds: now) {
            insertion.flags.append(
                EventFlag(
                    "future-hlc",
                    "recorded at \(event.hlc), more than \(clock.maximumDrift / 3_600_000) h ahead of this store's clock"))
        }
        if !holds.isEmpty {
            // Authentic history that does not count (DESIGN §6): its chain stays whole, the clinic reviews it.
            insertion.flags += holds
            insertion.outOfFold = true
        } else if let unreadable = payloads.problem(of: event) {
            insertion.flags.append(EventFlag(unreadable.kind.rawValue, unreadable.detail))
            insertion.outOfFold = true
            insertion.unreadable = unreadable
        } else if event.type.isAdministrative {
            insertion.appliesToRegistry = true
        }
        return .insert(insertion)
    }

    /// Whether `event`'s content is authenticated: by a signature checked before the batch, or its own now.
    private func authentic(_ event: Event, key: DevicePublicKey) -> Bool {
        verified.contains(event.id) || key.isValidSignature(event.signature, for: event.hash.bytes)
    }

    /// A forged signature refuses a batch delivered now; retried from quarantine, the event waits on.
    private func forged(_ event: Event, _ fromQuarantine: Bool) throws(StoreError) -> AdmissionStep {
        guard fromQuarantine else { throw EventStore.forged(event) }
        return .quarantine("signature does not verify with the enrolled key of origin \(event.origin)", retry: true)
    }

    /// Evidence is served as it is, to slices too: its own signature is checked, whatever its run's anchor says.
    private func fork(_ event: Event, heldHash: EventHash?) throws(StoreError) -> AdmissionStep {
        if unchecked.contains(event.id), let key = registry.devices[event.origin]?.publicKey,
            !key.isValidSignature(event.signature, for: event.hash.bytes)
        {
            throw EventStore.forged(event)
        }
        return .fork(heldHash: heldHash)
    }

    /// How an event links to what the log holds.
    private enum Linked {
        /// It may be stored.
        case linked
        /// It may not be stored yet, or not at all: the step (a gap waits, a branch is a fork).
        case waits(AdmissionStep)
        /// Its chain link holds but its `patientPrev` does not (a device's bug, in an unsliced log): stored and held
        /// for review, so the origin's later events still arrive.
        case brokenPatientLink(String)
    }

    /// Checks the chain link, then the patient link.
    private mutating func link(_ event: Event, in log: some AdmissionLog) throws(StoreError) -> Linked {
        let head = try head(of: event.origin, in: log)
        let sliced = slice != nil && event.origin != ownOrigin
        switch ChainLink(event, head: head) {
        case .atHeldPosition:
            let taken = try log.hash(origin: event.origin, originSeq: event.originSeq)
            // A home store's slice: a lower position not held here is outside the slice; nothing to link.
            if taken != nil || !sliced { return .waits(try fork(event, heldHash: taken)) }
        case .gap(let expected) where !sliced:
            return .waits(
                .quarantine(
                    "gap in origin \(event.origin)'s chain: held up to \(head.seq), waiting for \(expected)", retry: true))
        case .otherBranch where !sliced:
            return .waits(try fork(event, heldHash: head.hash))
        case .follows, .gap, .otherBranch:
            break
        }
        if let patient = event.patient {
            let previous = try log.patientHead(origin: event.origin, patient: patient)
            guard event.patientPrev == previous else {
                // A slice cannot tell a broken link from one whose previous event has not arrived yet.
                if sliced {
                    return .waits(
                        .quarantine(
                            "waiting for origin \(event.origin)'s previous event about patient \(patient)", retry: true))
                }
                return .brokenPatientLink(
                    "patientPrev \(event.patientPrev?.short ?? "none") does not name origin \(event.origin)'s previous "
                        + "event about patient \(patient) (\(previous?.short ?? "none"))")
            }
        } else if let patientPrev = event.patientPrev {
            return .brokenPatientLink("an administrative event names a patientPrev (\(patientPrev.short))")
        }
        return .linked
    }

    private mutating func head(of origin: Identifier, in log: some AdmissionLog) throws(StoreError) -> ChainHead {
        if let head = heads[origin] { return head }
        let head = try log.chainHead(of: origin)
        heads[origin] = head
        return head
    }

    /// Applies a stored registry event (an ``Insertion/appliesToRegistry`` step) to ``registry``.
    package mutating func applyRegistry(_ event: Event) -> RegistryChange {
        let payload: any EventPayload
        do {
            payload = try event.payload()
        } catch {
            return .refused("unreadable registry payload: \(error)")
        }
        let before = registry
        let enrolled: [Identifier]
        do {
            enrolled = try registry.apply(event, payload: payload)
        } catch {
            return .refused(error.message)
        }
        touched.formUnion(enrolled)
        var revoked: [Identifier: HLC] = [:]
        for (origin, device) in registry.devices {
            if let after = device.revokedAfter, after != before.devices[origin]?.revokedAfter { revoked[origin] = after }
        }
        return .applied(enrolled: enrolled, revoked: revoked)
    }

    /// Freezes `origin` after fork evidence: the lowest position of its evidence names the fork, so replicas that
    /// met the two branches in another order agree on it, on the frozen reason and on what is held out.
    package mutating func freeze(_ origin: Identifier, forkAt position: Int64) {
        registry.freeze(
            origin,
            reason: "fork at originSeq \(position): two validly signed events hold that position (a restored backup "
                + "or a copied key); its events from there on are held out of the read models for review")
    }

    /// The origins this batch advanced or enrolled since the last call: whose quarantine to retry next.
    package mutating func takeTouched() -> Set<Identifier> {
        defer { touched = [] }
        return touched
    }
}
