import ProloStore

extension Failure {
    /// The exit status of a scope refusal (``DeviceAccess``): a wrong `--device` or `--scope` is a usage error, an
    /// unknown device is missing input, and a revoked device or a store that cannot hold a scope is a permission
    /// problem.
    init(_ error: AccessError) {
        let status: ExitStatus =
            switch error.code {
            case .malformedScope, .ambiguousDevice, .scopeNotAllowed: .usage
            case .unknownDevice: .noInput
            case .deviceRevoked, .unboundToken, .notThisStoresScope: .permissionDenied
            }
        self.init(status, error.message)
    }
}
