import ArgumentParser
import Foundation
import Logging
import ProloHTTPSync
import ProloProjections
import ProloSync
import ProloServer
import ProloStore
import ServiceLifecycle
import UnixSignals

/// `prolo replicate`: keep this clinic server's store converged with another, continuously.
struct ReplicateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replicate",
        abstract: "Sync with another clinic server every interval, both directions, until stopped.",
        discussion: "Run beside `prolo serve` on the same store (or use `prolo serve --replicate-from`).")

    @OptionGroup var options: StoreOptions

    @Option(name: .long, help: "The other server's URL.")
    var from: String

    @Option(name: .long, help: "A replica-scope token issued by the other server.")
    var token: String

    @Option(name: .long, help: "Seconds between rounds.")
    var interval = 30

    @Flag(name: .long, help: "Sync once and exit.")
    var once = false

    func run() async throws {
        try await guardedAsync {
            let store = try options.openProjected().store
            let client = HTTPSyncClient(server: from, token: token, store: store)
            if once {
                let report = try await client.sync()
                say(report.summary(withServer: true))
                return
            }
            var logger = Logger(label: "prolo.replicate")
            logger.logLevel = .info
            let group = ServiceGroup(
                configuration: .init(
                    services: [ReplicationService(client: client, interval: .seconds(interval), logger: logger)],
                    gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
            try await group.run()
        }
    }
}
