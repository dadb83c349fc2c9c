import ArgumentParser
import Foundation
import Logging
import ProloDomain
import ProloHTTPSync
import ProloPostgres
import ProloProjections
import ProloServer
import ProloStore
import ServiceLifecycle
import UnixSignals

/// `prolo serve`: the clinic server.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve sync, enrollment and read APIs over HTTP(S) (Schemas/openapi.yaml).",
        discussion: """
            Callers authenticate with bearer tokens from `prolo token issue`; the token's scope decides what
            they may read and push. People sign in to the clinic's pages at /ui with the same tokens. Logs go to stderr (request id, device, scope, counts; never patient data).
            SIGINT or SIGTERM stops gracefully: batches in flight finish or roll back, never half applied.
            With --database (or PROLO_DATABASE_URL and no --store) the log is a clinic hub's PostgreSQL database
            (made by `prolo move-up`): sync, devices, enrollment, tokens and the access log are served from it;
            patients, alerts, FHIR and the pages need read models, which only a SQLite store keeps yet (501).
            --read-only serves pulls and reads and refuses pushes and enrollments (403 read-only-server): for a
            server on a standby.
            """)

    @OptionGroup var options: StoreOptions
    @OptionGroup var database: DatabaseOptions

    @Option(name: .long, help: ArgumentHelp(
        "The server device's key file (default: the store's, STORE.key; with --database, the key file of the store "
            + "that was moved up).", valueName: "PATH"))
    var key: String?

    @Flag(name: .long, help: "Serve pulls and reads only; refuse pushes and enrollments (a standby's server).")
    var readOnly = false

    @Option(
        name: .long,
        help: """
            With --database: the most connections to PostgreSQL at once. Size it to the database machine's cores \
            (a few per core): more only adds backends competing for them (Tools/BENCHMARKS.md: on 2 shared cores, \
            200 devices ran p99 0.93 s with 12 connections and 1.83 s with 40).
            """)
    var connections = 20

    @Option(name: .long, help: "The interface to listen on.")
    var host = "127.0.0.1"

    @Option(name: .long, help: "The port to listen on (0 picks a free one).")
    var port = 8787

    @Option(name: .long, help: "PEM certificate chain for HTTPS (with --tls-key).")
    var tlsCert: String?

    @Option(name: .long, help: "PEM private key for HTTPS (with --tls-cert).")
    var tlsKey: String?

    @Option(name: .long, help: "The largest request body accepted, in bytes.")
    var maxBodyBytes = 16 << 20

    @Option(name: .long, help: "Also replicate with this clinic server (both directions).")
    var replicateFrom: String?

    @Option(name: .long, help: "The token for --replicate-from.")
    var token: String?

    @Option(name: .long, help: "Seconds between replication rounds.")
    var interval = 30

    @Option(name: .long, help: "The clinic's time zone for the web pages under /ui (an IANA name like Europe/Oslo).")
    var timeZone = "UTC"

    func validate() throws {
        if (tlsCert == nil) != (tlsKey == nil) { throw ValidationError("give both --tls-cert and --tls-key, or neither") }
        if replicateFrom != nil, token == nil { throw ValidationError("--replicate-from needs --token") }
        if replicateFrom != nil, database.database != nil {
            throw ValidationError("--replicate-from replicates a SQLite store; a PostgreSQL hub is replicated by streaming replication (docs/postgresql.md)")
        }
        guard (1...500).contains(connections) else { throw ValidationError("--connections must be 1 to 500") }
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0 to 65535") }
        guard TimeZone(identifier: timeZone) != nil else {
            throw ValidationError("--time-zone \(timeZone) is not a time zone this machine knows (try Europe/Oslo or UTC)")
        }
    }

    func run() async throws {
        try await guardedAsync {
            var configuration = ClinicServerConfiguration()
            configuration.host = host
            configuration.port = port
            configuration.tlsCertificatePath = tlsCert
            configuration.tlsKeyPath = tlsKey
            configuration.maximumBodyBytes = maxBodyBytes
            configuration.timeZone = TimeZone(identifier: timeZone) ?? configuration.timeZone
            var logger = Logger(label: "prolo.serve")
            logger.logLevel = .info
            var services: [any Service] = []
            let log: any ServerLog
            let serving: String
            if let url = try database.chosen(over: options) {
                let hub = try await PostgresHub.open(
                    url, maximumConnections: connections, readOnly: readOnly, logger: logger)
                services.append(hub.client)
                log = PostgresServerLog(hub: hub, readOnly: readOnly)
                serving = url.redacted
            } else {
                let projected = try options.openProjected()
                log = SQLiteServerLog(projected: projected, storeWorkers: configuration.storeWorkers, readOnly: readOnly)
                serving = projected.store.path
                if let replicateFrom, let token {
                    let client = HTTPSyncClient(server: replicateFrom, token: token, store: projected.store)
                    services.append(ReplicationService(client: client, interval: .seconds(interval), logger: logger))
                }
            }
            let keyPath = key ?? DeviceKeyFile.path(forStore: options.path)
            let deviceKey = try DeviceKeyFile.load(from: keyPath)
            guard deviceKey.publicKey == log.identity.publicKey else {
                throw Failure(
                    .usage,
                    "the key in \(keyPath) is not the key of \(serving)'s device (\(log.identity.deviceName), origin "
                        + "\(log.identity.origin)); name the right one with --key")
            }
            // A hub has no store file to keep its bulk exports beside: beside the device's key, as protected.
            if log.readModels == nil, configuration.bulkExportDirectory == nil {
                configuration.bulkExportDirectory = keyPath + ".bulk-export"
            }
            let server = ClinicServer(log: log, key: deviceKey, configuration: configuration, logger: logger)
            let scheme = tlsCert == nil ? "http" : "https"
            let mode = readOnly ? " (read-only)" : ""
            let app = try server.makeApplication { bound in
                FileHandle.standardError.write(Data("prolo: serving \(serving)\(mode) on \(scheme)://\(host):\(bound)\n".utf8))
            }
            services.append(app)
            let group = ServiceGroup(
                configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
            try await group.run()
        }
    }
}
