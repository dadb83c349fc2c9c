import ArgumentParser
import Foundation

/// `--store PATH` and `--lock-timeout`, shared by every command.
struct StoreOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The store file (env PROLO_STORE; default ./prolo.sqlite).", valueName: "PATH"))
    var store: String?

    @Option(name: .long, help: "Seconds to wait for another writer's lock before giving up with exit 75.")
    var lockTimeout: Double = 5

    /// The store path: `--store`, else `PROLO_STORE`, else `./prolo.sqlite`.
    var path: String { explicitPath ?? "prolo.sqlite" }

    /// The store path the user asked for with `--store` or `PROLO_STORE`; `nil` when neither is given.
    var explicitPath: String? {
        if let store { return store }
        if let fromEnvironment = ProcessInfo.processInfo.environment["PROLO_STORE"], !fromEnvironment.isEmpty {
            return fromEnvironment
        }
        return nil
    }

    var busyTimeoutMilliseconds: Int32 { Int32(max(0, min(lockTimeout, 3600)) * 1000) }
}
