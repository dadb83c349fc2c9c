public import ProloStore

extension DeviceAccess {
    /// What the holder receives: everything, or its patient's slice (``SyncScope/admits(_:registry:)`` filters it).
    public var syncScope: SyncScope { slice.map { .patient($0) } ?? .full }
}

extension SyncError {
    /// A scope refusal during a sync or an import: ``SyncError/Code/outOfScope``, nothing appended.
    public init(_ error: AccessError) {
        self.init(.outOfScope, error.message)
    }
}
