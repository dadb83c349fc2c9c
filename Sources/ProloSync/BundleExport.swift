public import Crypto
public import ProloDomain
public import ProloStore

/// Writes a bundle file of what a peer is missing: the sender's side of the sync protocol, to a file.
public enum BundleExport {
    /// What to export and for whom.
    public struct Options: Sendable {
        /// The vector the receiver announced (`prolo vector --json` on the receiving device); empty for all.
        public var cutAgainst: VersionVector
        /// The receiver's chain heads at that vector (`prolo vector --json --heads`): where it holds another branch
        /// of an origin or knows less of a fork, that branch and the fork evidence are sent too. Empty: the vector
        /// alone decides, as before.
        public var heads: ChainHeads
        /// Only this patient's slice (for a home device).
        public var patient: PatientID?
        /// Encrypt for this clinic's X25519 key (`prolo device key` prints it).
        public var recipient: Curve25519.KeyAgreement.PublicKey?
        /// Bytes of records per block.
        public var blockBytes: Int

        public init(
            cutAgainst: VersionVector = VersionVector(), heads: ChainHeads = ChainHeads(), patient: PatientID? = nil,
            recipient: Curve25519.KeyAgreement.PublicKey? = nil, blockBytes: Int = BundleWriter.defaultBlockBytes
        ) {
            self.cutAgainst = cutAgainst
            self.heads = heads
            self.patient = patient
            self.recipient = recipient
            self.blockBytes = blockBytes
        }
    }

    /// What was written.
    public struct Summary: Sendable, Hashable {
        public let events: Int
        public let blocks: Int
        public let bytes: Int64
    }

    /// Streams every event of `store` above `options.cutAgainst` (in the scope) into a new bundle at `path`.
    ///
    /// Memory holds one block. The file appears under its name only when complete (written as `PATH.partial`
    /// first). `progress` is called with the number of events written so far.
    @discardableResult
    public static func export(
        from store: EventStore, signedBy key: DeviceKey, to path: String, options: Options = Options(),
        progress: (Int) -> Void = { _ in }
    ) throws(SyncError) -> Summary {
        let scope: SyncScope = options.patient.map { .patient($0) } ?? .full
        do {
            let header = BundleHeader(
                clinicRoot: store.identity.rootPublicKey, sender: key.publicKey, senderStoreID: store.identity.storeID,
                senderName: store.identity.deviceName, scope: scope, cutAgainst: options.cutAgainst,
                cutAgainstHeads: options.heads, senderVector: try store.versionVector(), createdAt: .now())
            let headerBytes = header.bytes
            var writer = try BundleWriter(
                path: path, header: headerBytes, headerSignature: try key.signature(for: headerBytes),
                recipient: options.recipient, blockBytes: options.blockBytes)
            let registry = try store.registry()
            var count = 0
            var writeError: BundleError?
            // A home device sends only what it may push (its own events): receivers refuse anything else from it.
            let access = DeviceAccess(store: store.identity)
            try store.scanMissing(from: options.cutAgainst, heads: options.heads, patient: options.patient) {
                stored throws(StoreError) in
                guard writeError == nil else { return false }
                guard scope.admits(stored.event, registry: registry), access.mayPush(stored.event) else { return true }
                do throws(BundleError) {
                    try writer.append(EventWireCodec.encode(stored.event))
                } catch {
                    writeError = error
                    return false
                }
                count += 1
                if count % 1000 == 0 { progress(count) }
                return true
            }
            if let writeError { throw writeError }
            let summary = try writer.finish()
            progress(count)
            return Summary(events: count, blocks: summary.blocks, bytes: summary.bytes)
        } catch let error as SyncError {
            throw error
        } catch let error as BundleError {
            throw SyncError(error.code == .exists ? .exists : .ioError, error.message)
        } catch let error as StoreError {
            throw SyncError(error)
        } catch {
            throw SyncError(.ioError, "\(error)")
        }
    }
}
