public import ProloDomain
public import ProloStore

/// Reads a bundle file into a store: the receiver's side of the sync protocol, one block per transaction.
public enum BundleImport {
    /// Verifies and appends every block of the bundle at `path`.
    ///
    /// Each block is verified and appended in its own transaction, so a bundle cut off mid-way keeps every whole
    /// block before the cut and fails with ``SyncError/Code/truncated`` saying where; importing the complete
    /// bundle later finishes the job (events already held are counted, not stored again). A bundle of another
    /// clinic, a header not signed by its sender, or a block that does not verify is refused with the block
    /// named, and nothing of that block is stored. What the sender may push is decided by ``DeviceAccess``: a
    /// bundle sent by a home device may only carry that device's own events about its patient; anything else is
    /// quarantined with the reason. A patient's slice from anyone else is refused with
    /// ``SyncError/Code/outOfScope`` before anything is appended unless this is that patient's home store (a
    /// store that holds whole chains would keep the slice's gaps in quarantine forever).
    public static func `import`(
        from path: String, into store: EventStore, key: DeviceKey, progress: (Int, Int64) -> Void = { _, _ in }
    ) throws(SyncError) -> SyncReport {
        var reader: BundleReader
        do {
            reader = try BundleReader(path: path, recipientKey: try key.agreementKey())
        } catch let error as BundleError {
            throw translate(error, report: nil)
        } catch {
            throw SyncError(.ioError, "\(error)")
        }
        let header = try BundleHeader(bytes: reader.header, signature: reader.headerSignature)
        let registry: DeviceRegistry
        let local: SyncHello
        let access = DeviceAccess(store: store.identity)
        do {
            registry = try store.registry()
            local = SyncHello(
                storeID: store.identity.storeID, root: store.identity.rootPublicKey, device: store.identity.publicKey,
                scope: access.syncScope, vector: try store.versionVector())
        } catch {
            throw SyncError(error)
        }
        let sender = senderAccess(header, registry: registry, receiver: access)
        do throws(AccessError) {
            try access.checkReceiving(slice: header.scope.patient, from: sender)
        } catch {
            throw SyncError(error)
        }
        let scope = sender.appendScope
        var session = SyncSession(local: local)
        _ = session.start()
        try run(session.receive(.hello(header.hello)), store: store, scope: scope, session: &session, block: nil)
        _ = session.sentAll(count: 0)
        var events = 0
        while true {
            let block: BundleBlock?
            do {
                block = try reader.nextBlock()
            } catch {
                throw translate(error, report: session.report)
            }
            guard let block else { break }
            try run(
                session.receive(.events(block.records, last: false)), store: store, scope: scope, session: &session,
                block: block)
            events += block.records.count
            progress(events, block.offset + Int64(block.storedByteCount))
        }
        try run(session.receive(.events([], last: true)), store: store, scope: scope, session: &session, block: nil)
        return session.report
    }

    /// What the bundle's sender may push. An enrolled sender has its role's access. A sender this store has not
    /// enrolled (yet) that sends a patient's slice is held to that patient's home-device scope, unless the slice is
    /// this home store's own: then the bundle was cut for this store (by a clinic server whose enrollment may be in
    /// it), every event in it is checked against the registry like any other, and a home store keeps nothing of
    /// another patient. Held to the home scope, a home device syncing by bundle with its clinic's server would
    /// refuse for good every event of the server's first bundle, the server's own enrollment included, and every
    /// bundle after it.
    private static func senderAccess(_ header: BundleHeader, registry: DeviceRegistry, receiver: DeviceAccess)
        -> DeviceAccess
    {
        if let sender = registry.devices[header.sender.origin] { return DeviceAccess(enrolled: sender) }
        if let patient = header.scope.patient, patient != receiver.slice {
            return .home(header.sender.origin, patient: patient)
        }
        return .clinic
    }

    private static func run(
        _ actions: [SyncSession.Action], store: EventStore, scope: AppendScope, session: inout SyncSession,
        block: BundleBlock?
    ) throws(SyncError) {
        let place = block.map { "block \($0.index) (byte \($0.offset))" } ?? "bundle"
        for action in actions {
            switch action {
            case .append(let events, let checkpoint):
                do {
                    session.appended(try store.append(events, scope: scope, checkpoint: checkpoint))
                } catch {
                    let failure = SyncError(error, context: place)
                    throw SyncError(failure.code, "\(failure.message); \(imported(session.report)) before it")
                }
            case .fail(let error):
                throw SyncError(error.code, "\(place): \(error.message)")
            case .send, .sendMissing, .finished:
                continue
            }
        }
    }

    private static func imported(_ report: SyncReport) -> String {
        "\(report.new) new, \(report.alreadyPresent) already present, \(report.quarantined) quarantined were imported"
    }

    private static func translate(_ error: BundleError, report: SyncReport?) -> SyncError {
        let kept = report.map { "; \(imported($0)) from the whole blocks before it" } ?? ""
        let code: SyncError.Code =
            switch error.code {
            case .truncated: .truncated
            case .wrongRecipient: .wrongRecipient
            case .ioError: .ioError
            case .exists: .exists
            default: .malformed
            }
        return SyncError(code, error.message + kept)
    }
}
