import ArgumentParser
import Foundation
import Logging
import ProloDomain
import ProloHTTPSync
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
            """)

    @OptionGroup var options: StoreOptions

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
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0 to 65535") }
        guard TimeZone(identifier: timeZone) != nil else {
            throw ValidationError("--time-zone \(timeZone) is not a time zone this machine knows (try Europe/Oslo or UTC)")
        }
    }

    func run() async throws {
        try await guardedAsync {
            let projected = try options.openProjected()
            let key = try DeviceKeyFile.load(from: DeviceKeyFile.path(forStore: projected.store.path))
            var configuration = ClinicServerConfiguration()
            configuration.host = host
            configuration.port = port
            configuration.tlsCertificatePath = tlsCert
            configuration.tlsKeyPath = tlsKey
            configuration.maximumBodyBytes = maxBodyBytes
            configuration.timeZone = TimeZone(identifier: timeZone) ?? configuration.timeZone
            var logger = Logger(label: "prolo.serve")
            logger.logLevel = .info
            let server = ClinicServer(projected: projected, key: key, configuration: configuration, logger: logger)
            let scheme = tlsCert == nil ? "http" : "https"
            let app = try server.makeApplication { bound in
                FileHandle.standardError.write(Data("prolo: serving \(projected.store.path) on \(scheme)://\(host):\(bound)\n".utf8))
            }
            var services: [any Service] = [app]
            if let replicateFrom, let token {
                let client = HTTPSyncClient(server: replicateFrom, token: token, store: projected.store)
                services.append(ReplicationService(client: client, interval: .seconds(interval), logger: logger))
            }
            let group = ServiceGroup(
                configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
            try await group.run()
        }
    }
}
