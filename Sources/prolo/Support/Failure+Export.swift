import ProloExport

extension Failure {
    /// The exit status of an export failure: an unknown patient is missing input, a
    /// store error its own status, and output that cannot be written an I/O error.
    init(_ error: FHIRExportError) {
        if let cause = error.cause {
            self.init(cause)
            return
        }
        let status: ExitStatus =
            switch error.code {
            case .noSuchPatient: .noInput
            case .store, .output: .ioError
            case .cancelled: .temporaryFailure
            }
        self.init(status, error.message)
    }
}
