public import Logging
import ProloHTTPSync
import ProloSync
public import ServiceLifecycle

/// Keeps this store converged with another clinic server: syncs both directions every interval, with the
/// client's retries and backoff, until the service group shuts down (`prolo replicate`,
/// `prolo serve --replicate-from`).
public struct ReplicationService: Service {
    let client: HTTPSyncClient
    let interval: Duration
    let logger: Logger

    public init(client: HTTPSyncClient, interval: Duration, logger: Logger) {
        self.client = client
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    let report = try await client.sync()
                    if report.new + report.sent + report.quarantined > 0 {
                        logger.info(
                            "replicated",
                            metadata: [
                                "server": .string(client.server), "new": "\(report.new)", "sent": "\(report.sent)",
                                "quarantined": "\(report.quarantined)",
                            ])
                    }
                } catch {
                    logger.warning("replication failed; retrying next interval", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: interval)
            }
        }
    }
}
