import PostgresNIO
import ProloStore

extension StoreError {
    /// PostgreSQL's failure as the store's: the same codes a SQLite store gives for the same trouble, PostgreSQL's
    /// own report (SQLSTATE, message, detail) in the message and kept as the cause.
    init(postgres error: any Error, _ doing: String, at url: PostgresURL) {
        if let error = error as? StoreError {
            self = error
            return
        }
        guard let psql = error as? PSQLError else {
            self.init(.internalError, "\(doing) on \(url.redacted): \(error)", cause: nil)
            return
        }
        let state = psql.serverInfo?[.sqlState] ?? ""
        var report = psql.serverInfo?[.message] ?? "\(psql.code)"
        if let detail = psql.serverInfo?[.detail] { report += " (\(detail))" }
        if !state.isEmpty { report += " [SQLSTATE \(state)]" }
        let code: Code
        switch state {
        case "" where psql.code == .sslUnsupported:
            code = .ioError
            report = "the server does not offer TLS, and sslmode=\(url.sslMode) asks for it"
        case "": code = .ioError
            report = "cannot reach PostgreSQL: \(psql.code)\(psql.underlying.map { ": \($0)" } ?? "")"
        case "3D000": code = .storeNotFound
        case "28P01", "28000", "42501": code = .permissionDenied
        case "23505": code = .chainConflict
        case "23001", "23502", "23503", "23514", "22P02": code = .invalidInput
        case "53100": code = .ioError
            report = "the disk holding the database is full: \(report); nothing was written"
        case "40001", "40P01", "55P03", "57014": code = .busy
        case "25006": code = .permissionDenied
            report = "the database is read-only (a standby?): \(report)"
        default: code = state.hasPrefix("08") || state.hasPrefix("57P") || state.hasPrefix("58") ? .ioError : .internalError
        }
        self.init(code, "\(doing) on \(url.redacted): \(report)", cause: PostgresFailure(sqlState: state, message: report))
    }
}

/// PostgreSQL's own report of a failure: the ``StoreError/cause`` of an error a PostgreSQL database raised.
struct PostgresFailure: Error, Sendable, CustomStringConvertible {
    let sqlState: String
    let message: String
    var description: String { sqlState.isEmpty ? message : "SQLSTATE \(sqlState): \(message)" }
}
