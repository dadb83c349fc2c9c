import ProloSync

extension Failure {
    /// The exit status of a sync or bundle failure.
    init(_ error: SyncError) {
        let status: ExitStatus =
            switch error.code {
            case .malformed, .truncated, .refused: .dataError
            case .foreignClinic, .untrustedSender, .wrongRecipient, .outOfScope: .permissionDenied
            case .ioError: .ioError
            case .exists: .cannotCreate
            case .busy: .temporaryFailure
            }
        self.init(status, error.message)
    }

    /// The exit status of a bundle file failure.
    init(_ error: BundleError) {
        let status: ExitStatus =
            switch error.code {
            case .wrongRecipient: .permissionDenied
            case .ioError: .ioError
            case .exists: .cannotCreate
            case .invalidInput: .usage
            default: .dataError
            }
        self.init(status, error.message)
    }
}
