import Foundation
import NIOSSL
public import PostgresNIO
import ProloStore

/// Where a PostgreSQL database is, from a libpq-style URL: `postgresql://USER:PASSWORD@HOST:PORT/DATABASE`.
///
/// Understood, as libpq does: `postgres://` too; a missing user is the login name (`USER`); a missing password is
/// `PGPASSWORD`'s; `?host=/run/postgresql` (or an empty host) connects over the Unix socket in that folder
/// (`/var/run/postgresql` by default); `?sslmode=disable|prefer|require|verify-full` (default `prefer`), meaning
/// what libpq's do: `prefer` and `require` encrypt without checking the server's certificate, `verify-full` checks
/// its chain against the system's trust roots and its name against the host. Other
/// parameters are refused, so a typo is not silently ignored. The password never appears in ``redacted``.
public struct PostgresURL: Sendable, CustomStringConvertible {
    public let user: String
    public let password: String?
    /// The TCP host, or nil for a Unix socket.
    public let host: String?
    public let port: Int
    /// The socket folder when ``host`` is nil.
    public let socketFolder: String
    public let database: String
    public let sslMode: String

    /// Parses `text`, or a `invalid-input` error that says what is wrong with it.
    public init(_ text: String) throws(StoreError) {
        func bad(_ why: String) -> StoreError {
            StoreError(.invalidInput, "--database: \(Self.redact(text)) is not a PostgreSQL URL: \(why)")
        }
        guard let components = URLComponents(string: text), let scheme = components.scheme,
            scheme == "postgresql" || scheme == "postgres"
        else { throw bad("expected postgresql://USER:PASSWORD@HOST:PORT/DATABASE") }
        let environment = ProcessInfo.processInfo.environment
        user = components.user?.removingPercentEncoding ?? environment["USER"] ?? "postgres"
        password = components.password?.removingPercentEncoding ?? environment["PGPASSWORD"]
        port = components.port ?? 5432
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        database = path.removingPercentEncoding ?? path
        guard !database.isEmpty else { throw bad("the database name (the path) is missing") }
        var hostParameter: String?
        var sslMode = "prefer"
        for item in components.queryItems ?? [] {
            switch item.name {
            case "host": hostParameter = item.value
            case "sslmode":
                guard let value = item.value, ["disable", "prefer", "require", "verify-full"].contains(value) else {
                    throw bad("sslmode must be disable, prefer, require or verify-full")
                }
                sslMode = value
            default: throw bad("unknown parameter \(item.name)")
            }
        }
        self.sslMode = sslMode
        let named = hostParameter ?? components.host.flatMap { $0.isEmpty ? nil : $0 }
        if let named, !named.hasPrefix("/") {
            host = named
            socketFolder = ""
        } else {
            host = nil
            socketFolder = named ?? "/var/run/postgresql"
        }
    }

    /// The same server and credentials, another database on it.
    public func database(_ name: String) -> PostgresURL {
        PostgresURL(
            user: user, password: password, host: host, port: port, socketFolder: socketFolder, database: name,
            sslMode: sslMode)
    }

    private init(
        user: String, password: String?, host: String?, port: Int, socketFolder: String, database: String, sslMode: String
    ) {
        self.user = user
        self.password = password
        self.host = host
        self.port = port
        self.socketFolder = socketFolder
        self.database = database
        self.sslMode = sslMode
    }

    /// The URL without its password, for messages and logs.
    public var redacted: String {
        let place = host.map { "\($0):\(port)" } ?? "\(socketFolder)/.s.PGSQL.\(port)"
        return "postgresql://\(user)@\(place)/\(database)"
    }

    public var description: String { redacted }

    static func redact(_ text: String) -> String {
        guard var components = URLComponents(string: text), components.password != nil else { return text }
        components.password = "***"
        return components.string ?? text
    }

    /// The connection's configuration.
    func configuration() throws(StoreError) -> PostgresConnection.Configuration {
        guard let host else {
            return PostgresConnection.Configuration(
                unixSocketPath: "\(socketFolder)/.s.PGSQL.\(port)", username: user, password: password, database: database)
        }
        let tls: PostgresConnection.Configuration.TLS
        do {
            var unverified = TLSConfiguration.makeClientConfiguration()
            unverified.certificateVerification = .none
            switch sslMode {
            case "disable": tls = .disable
            case "require": tls = .require(try NIOSSLContext(configuration: unverified))
            case "verify-full": tls = .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
            default: tls = .prefer(try NIOSSLContext(configuration: unverified))
            }
        } catch {
            throw StoreError(.internalError, "cannot set up TLS for \(redacted): \(error)")
        }
        return PostgresConnection.Configuration(
            host: host, port: port, username: user, password: password, database: database, tls: tls)
    }

    /// The pool's configuration (``PostgresHub``): the same place, credentials and `sslmode` as
    /// ``configuration()``, and `plan_cache_mode = force_generic_plan` for its sessions: the statements a server runs
    /// on every sync are prepared once per connection, but PostgreSQL kept planning them again at each execution
    /// (with array parameters a custom plan never looks costlier than the generic one), so a fifth of its backends'
    /// time under 200 devices was planning (`perf`, `GetCachedPlan` → `pg_plan_queries`). Their generic plans are
    /// index probes by key (an origin, a patient, an id), the plans the custom ones were. The setting covers every
    /// parameterized statement of the pool's sessions (unnamed ones, and those inside the migration's functions),
    /// not only the prepared ones; none of them is a range whose best plan depends on its values.
    func clientConfiguration(maximumConnections: Int) -> PostgresClient.Configuration {
        var configuration: PostgresClient.Configuration
        if let host {
            var unverified = TLSConfiguration.makeClientConfiguration()
            unverified.certificateVerification = .none
            let tls: PostgresClient.Configuration.TLS =
                switch sslMode {
                case "disable": .disable
                case "require": .require(unverified)
                case "verify-full": .require(.makeClientConfiguration())
                default: .prefer(unverified)
                }
            configuration = PostgresClient.Configuration(
                host: host, port: port, username: user, password: password, database: database, tls: tls)
        } else {
            configuration = PostgresClient.Configuration(
                unixSocketPath: "\(socketFolder)/.s.PGSQL.\(port)", username: user, password: password, database: database)
        }
        configuration.options.maximumConnections = maximumConnections
        configuration.options.additionalStartupParameters = [("plan_cache_mode", "force_generic_plan")]
        return configuration
    }
}
