import Foundation
import ProloExport
import Synchronization

/// The server's FHIR Bulk Data export jobs: what each is doing, whose it is, and where its files are.
///
/// Each job writes into its own directory, `root/JOB`, and runs on one serial queue, so two kick-offs never read
/// the store at once and a busy clinic's requests are not starved by exports: a job waits `queued` until the one
/// before it is done. The table is in memory; files leave the disk when the job is deleted, when the retention
/// after it finished has passed, and, when a restart forgot their job, at the next ``sweep()``. A job is only ever
/// shown to the token that started it: to any other it does not exist.
final class BulkExportJobs: Sendable {
    /// Where a job is.
    enum State: Sendable {
        case queued
        /// Patients written of the total.
        case running(done: Int, total: Int)
        case completed(FHIRBulkManifest)
        /// Why it stopped: a message for the operator.
        case failed(String)
    }

    /// One export job.
    struct Job: Sendable {
        /// 32 lowercase hex digits, random: the status URL's last segment.
        let id: String
        /// The id of the token that started it.
        let owner: String
        /// The kick-off URL, as the manifest's `request` names it.
        let request: String
        /// Where its files are written.
        let directory: String
        var state: State = .queued
        /// When it completed or failed; the retention counts from here.
        var finishedAt: ContinuousClock.Instant?
    }

    /// The directory that holds one subdirectory per job.
    let root: String
    /// How long a finished job stays.
    let retention: Duration
    private let jobs = Mutex<[String: Job]>([:])

    /// Jobs held now (running, done or failed, until removed), for `/metrics`.
    var count: Int { jobs.withLock { $0.count } }
    private let queue = DispatchQueue(label: "prolo.fhir-bulk-export")

    init(root: String, retention: Duration) {
        self.root = root
        self.retention = retention
    }

    /// Registers a job for `owner` and queues `export`, which writes into the directory it is given, stops when
    /// its cancellation check answers true and reports progress; returns the job as registered.
    func submit(
        owner: String, request: String,
        export:
            @escaping @Sendable (
                _ directory: String, _ isCancelled: @escaping @Sendable () -> Bool,
                _ progress: @escaping @Sendable (Int, Int) -> Void
            ) throws -> FHIRBulkManifest
    ) -> Job {
        try? FileManager.default.createDirectory(
            atPath: root, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        sweep()
        let id = (0..<16).map { _ in String(format: "%02x", UInt8.random(in: .min ... .max)) }.joined()
        let job = Job(id: id, owner: owner, request: request, directory: (root as NSString).appendingPathComponent(id))
        jobs.withLock { $0[id] = job }
        queue.async {
            guard self.update(id, { $0.state = .running(done: 0, total: 0) }) else { return }  // deleted while queued
            let outcome: State
            do {
                outcome = .completed(
                    try export(
                        job.directory, { self.jobs.withLock { $0[id] == nil } },
                        { done, total in _ = self.update(id) { $0.state = .running(done: done, total: total) } }))
            } catch let error as FHIRExportError {
                outcome = .failed(error.message)
            } catch {
                outcome = .failed("\(error)")
            }
            let kept = self.update(id) {
                $0.state = outcome
                $0.finishedAt = .now
            }
            if !kept { Self.remove(job.directory) }  // deleted while it ran
        }
        return job
    }

    /// The job `id` of `owner`; `nil` when there is none, it is another token's, or its retention has passed.
    func job(_ id: String, owner: String) -> Job? {
        sweep()
        return jobs.withLock { $0[id] }.flatMap { $0.owner == owner ? $0 : nil }
    }

    /// Deletes `owner`'s job `id`: a queued job never starts, a running one stops at its next patient, and its files
    /// are removed. Returns whether there was such a job.
    func delete(_ id: String, owner: String) -> Bool {
        let removed: Job? = jobs.withLock { jobs in
            guard let job = jobs[id], job.owner == owner else { return nil }
            jobs[id] = nil
            return job
        }
        guard let removed else { return false }
        // A running job's files are removed by the job itself when it notices; these may already be gone.
        if case .running = removed.state { return true }
        Self.remove(removed.directory)
        return true
    }

    /// Removes the jobs whose retention has passed, and every directory under ``root`` that names no job (left by
    /// an earlier run of the server, or by a job deleted while it ran).
    func sweep() {
        let now = ContinuousClock.now
        let (expired, known): ([Job], Set<String>) = jobs.withLock { jobs in
            let expired = jobs.values.filter { job in job.finishedAt.map { now - $0 > retention } ?? false }
            for job in expired { jobs[job.id] = nil }
            return (expired, Set(jobs.keys))
        }
        for job in expired { Self.remove(job.directory) }
        for name in (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? [] where !known.contains(name) {
            Self.remove((root as NSString).appendingPathComponent(name))
        }
    }

    /// Applies `change` to job `id`; false when the job is gone (deleted).
    private func update(_ id: String, _ change: (inout Job) -> Void) -> Bool {
        jobs.withLock { jobs in
            guard var job = jobs[id] else { return false }
            change(&job)
            jobs[id] = job
            return true
        }
    }

    private static func remove(_ directory: String) {
        try? FileManager.default.removeItem(atPath: directory)
    }
}
