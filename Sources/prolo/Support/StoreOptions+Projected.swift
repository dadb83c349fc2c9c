import ProloProjections
import ProloStore

extension StoreOptions {
    /// Opens the store with its read models, rebuilding them (with a progress bar) when their version changed.
    func openProjected() throws -> ProjectedStore {
        var bar = ProgressBar("rebuilding read models")
        defer { bar.finish() }
        return try ProjectedStore.open(at: path, busyTimeoutMilliseconds: busyTimeoutMilliseconds) { done, total in
            bar.update(done, of: total)
        }
    }
}
