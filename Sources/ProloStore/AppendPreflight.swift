package import ProloDomain

/// The checks of a received batch that take no lock, made on every core before a backend's append transaction
/// starts (DESIGN §6): every hash, the signatures of new events of enrolled origins, and their payloads. One rule for
/// every backend; ``EventAdmission`` then decides each event under the backend's lock with what this found.
///
/// A bad hash, or a forged signature where one is checked, refuses the whole batch with an error that names the
/// event, before anything is written.
package struct AppendPreflight: Sendable {
    /// Events whose content a checked signature authenticates (their own, or their run's last).
    package let verified: Set<EventID>
    /// Of those, the ones whose own signature was left unchecked (``SignatureRuns``).
    package let unchecked: Set<EventID>
    /// Which of the new events' payloads this build reads.
    package let payloads: PayloadChecks

    /// Checks `events` against the `registry` and the version vector `held` of the log they go into.
    ///
    /// An event at or below what the log holds of its origin is either held already (the backend counts it as
    /// present without checking a signature: a re-sent batch costs no Ed25519) or a fork or a slice's gap, rare,
    /// whose signature admission checks itself. With `signatureRuns`, one signature per run of an origin's
    /// consecutive hash-linked events is checked (its last); without, every event's own (a home store, whose slice
    /// has no runs to lean on, and the PostgreSQL backend, which keeps no list of unchecked signatures). When an
    /// anchor fails, every signature is checked, so the error names the first event whose own does not verify.
    package init(_ events: [Event], registry: DeviceRegistry, held: VersionVector, signatureRuns: Bool)
        throws(StoreError)
    {
        if let index = try Self.firstFailure(events, { $0.hasValidHash }) {
            let bad = events[index]
            throw StoreError(
                .invalidInput,
                "event \(bad.id) (origin \(bad.origin), originSeq \(bad.originSeq)): "
                    + "hash does not match the envelope and body; the batch was refused and nothing was stored",
                event: bad.id, offset: .batch(index))
        }
        let checkable = events.indices.compactMap { index -> Checkable? in
            let event = events[index]
            guard event.originSeq > held[event.origin.text] else { return nil }
            switch registry.admission(of: event) {
            case .admit(let key), .hold(let key, _, _): return Checkable(index: index, event: event, key: key)
            case .refuse: return nil
            }
        }
        let runs = signatureRuns ? SignatureRuns(checkable.map(\.event)) : nil
        let anchors = runs.map { $0.anchors.map { checkable[$0] } } ?? checkable
        if try Self.firstFailure(anchors, { $0.isAuthentic }) != nil {
            let bad = try Self.firstFailure(checkable, { $0.isAuthentic }).map { checkable[$0] } ?? anchors[0]
            throw EventStore.forged(bad.event).placed(at: bad.index, of: bad.event)
        }
        verified = Set(checkable.map(\.event.id))
        unchecked = Set(runs?.unchecked.map { checkable[$0].event.id } ?? [])
        payloads = try PayloadChecks(of: events.filter { $0.originSeq > held[$0.origin.text] })
    }

    /// A new event of an enrolled origin, at `index` in the batch, with the key its signature is checked against.
    private struct Checkable: Sendable {
        let index: Int
        let event: Event
        let key: DevicePublicKey

        var isAuthentic: Bool { key.isValidSignature(event.signature, for: event.hash.bytes) }
    }

    /// The position of the first element for which `check` fails, checked on every core.
    private static func firstFailure<Item: Sendable>(_ items: [Item], _ check: @escaping @Sendable (Item) -> Bool)
        throws(StoreError) -> Int?
    {
        let results: [Bool]
        do {
            results = try Parallel.map(items, minimumPerWorker: 32) { check($0) }
        } catch {
            throw StoreError(.internalError, "cannot verify events: \(error)")
        }
        return results.firstIndex(of: false)
    }
}
