import Foundation
import Logging
import ProloDomain
import ProloProjections
import ProloServer
import ServiceLifecycle

/// A clinic server run inside this process on a free loopback port (for `prolo demo`): the same
/// ``ClinicServer`` `prolo serve` runs, in a service group shut down gracefully by ``stop()``.
final class LocalServer: Sendable {
    let url: String
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    private init(url: String, group: ServiceGroup, task: Task<Void, any Error>) {
        self.url = url
        self.group = group
        self.task = task
    }

    static func start(_ projected: ProjectedStore, key: DeviceKey) async throws -> LocalServer {
        var configuration = ClinicServerConfiguration()
        configuration.port = 0
        var logger = Logger(label: "prolo.demo.server")
        logger.logLevel = .error
        let server = ClinicServer(projected: projected, key: key, configuration: configuration, logger: logger)
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let app = try server.makeApplication { port in continuation.yield(port) }
        let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
        let task = Task { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw Failure(.software, "the demo server did not start") }
        return LocalServer(url: "http://127.0.0.1:\(port)", group: group, task: task)
    }

    func stop() async {
        await group.triggerGracefulShutdown()
        _ = try? await task.value
    }
}
