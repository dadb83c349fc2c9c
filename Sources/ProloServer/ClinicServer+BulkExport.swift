import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import ProloDomain
import ProloExport
import ProloStore

/// FHIR Bulk Data Access (the async pattern of the HL7 Bulk Data IG, system level) over ``FHIRBulkExport``: a
/// kick-off queues a job, its status URL answers 202 with `X-Progress` until the manifest is ready, each output URL
/// serves one ndjson file, and `DELETE` on the status URL removes the job. Clinic and audit tokens only; every
/// request is in the access log, and so is each patient the export reads (purpose `export-fhir-bulk`).
extension ClinicServer {
    /// `GET /v1/fhir/$export` with `Prefer: respond-async`: queues an export of every patient (with `_since`, those
    /// with an event received after it; with `_type`, only those resource types) and answers 202 with the job's
    /// status URL in `Content-Location`.
    func bulkKickOff(_ request: Request, _ context: BasicRequestContext, _ caller: Caller) async throws -> Handled {
        try requireBulkScope(caller)
        let preferences = (request.headers[Self.prefer] ?? "").split(whereSeparator: { $0 == "," || $0 == ";" })
        guard preferences.contains(where: { $0.trimmingCharacters(in: .whitespaces).lowercased() == "respond-async" })
        else {
            throw Refusal(
                status: .badRequest, code: "respond-async",
                message: "a Bulk Data export runs asynchronously: send Prefer: respond-async")
        }
        let query = request.uri.queryParameters
        var since: Timestamp?
        if let text = query.get("_since") {
            guard let instant = Self.instant(String(text)) else {
                throw Refusal(
                    status: .badRequest, code: "malformed",
                    message: "_since: \(text.prefix(80)) is not a FHIR instant like 2026-03-02T09:30:00Z")
            }
            since = instant
        }
        var types: Set<String>?
        if let text = query.get("_type") {
            let named = text.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            let unknown = named.filter { !FHIRBulkExport.resourceTypes.contains($0) }
            guard unknown.isEmpty else {
                throw Refusal(
                    status: .badRequest, code: "unsupported-type",
                    message: "_type: this server exports "
                        + FHIRBulkExport.resourceTypes.joined(separator: ", ") + "; not "
                        + unknown.map { String($0.prefix(40)) }.joined(separator: ", "))
            }
            types = Set(named)
        }
        if let format = query.get("_outputFormat"),
            !["application/fhir+ndjson", "application/ndjson", "ndjson"].contains(format)
        {
            throw Refusal(
                status: .badRequest, code: "unsupported-format",
                message: "_outputFormat: this server writes application/fhir+ndjson, not \(format.prefix(80))")
        }
        let base = fhirBase(of: request)
        let reader = AccessRecord(
            token: caller.token.id, device: caller.token.device, scope: caller.token.scope, method: "GET",
            route: "/v1/fhir/$export", status: 202, outcome: "ok", requestID: context.id)
        let (store, after, only) = (log.recordSource, since, types)
        let job = bulkJobs.submit(
            owner: caller.token.id, request: base + "/$export" + (request.uri.query.map { "?" + $0 } ?? "")
        ) { directory, isCancelled, progress in
            try FHIRBulkExport.export(
                from: store, to: directory, since: after, types: only, reader: reader, progress: progress,
                isCancelled: isCancelled)
        }
        let response = Response(
            status: .accepted, headers: [.contentLocation: base + "/$export/" + job.id], body: .init())
        return Handled(response: response, purpose: "export-fhir-bulk-kickoff")
    }

    /// `GET /v1/fhir/$export/{job}`: 202 with `X-Progress` and `Retry-After` while the job is queued or running;
    /// 200 with the manifest when it is done (each output's `url` on this server, needing the same token); 500 when
    /// it failed.
    func bulkStatus(_ request: Request, _ context: BasicRequestContext, _ caller: Caller) async throws -> Handled {
        try requireBulkScope(caller)
        let job = try bulkJob(context, caller)
        let response: Response
        switch job.state {
        case .queued, .running:
            var progress = "queued"
            if case .running(let done, let total) = job.state {
                progress = total == 0 ? "reading the log" : "\(done) of \(total) patients"
            }
            response = Response(
                status: .accepted, headers: [Self.xProgress: progress, .retryAfter: "1"],
                body: .init())
        case .completed(let manifest):
            let files = fhirBase(of: request) + "/$export/" + job.id
            let json = manifest.json(request: job.request, base: files, requiresAccessToken: true)
            response = Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(bytes: CanonicalJSON.encode(json))))
        case .failed(let message):
            throw Refusal(status: .internalServerError, code: "export-failed", message: message)
        }
        return Handled(response: response, purpose: "export-fhir-bulk-status")
    }

    /// `DELETE /v1/fhir/$export/{job}`: cancels the job if it still runs and removes its files; 202.
    func bulkDelete(_ request: Request, _ context: BasicRequestContext, _ caller: Caller) async throws -> Handled {
        try requireBulkScope(caller)
        let id = context.parameters.get("job") ?? ""
        guard bulkJobs.delete(id, owner: caller.token.id) else { throw Self.noSuchJob(id) }
        return Handled(response: Response(status: .accepted, body: .init()), purpose: "export-fhir-bulk-delete")
    }

    /// `GET /v1/fhir/$export/{job}/{file}`: one ndjson file of a completed job, streamed from disk.
    func bulkFile(_ request: Request, _ context: BasicRequestContext, _ caller: Caller) async throws -> Handled {
        try requireBulkScope(caller)
        let job = try bulkJob(context, caller)
        let name = context.parameters.get("file") ?? ""
        // Only a name the manifest lists: never a path the caller makes up.
        guard case .completed(let manifest) = job.state, manifest.outputs.contains(where: { $0.url == name }) else {
            throw Refusal(
                status: .notFound, code: "no-such-file",
                message: "export job \(job.id) has no file \(name.prefix(80)) (yet); its manifest lists its files")
        }
        let path = (job.directory as NSString).appendingPathComponent(name)
        let body: ResponseBody
        do {
            // Streamed in chunks, with its Content-Length.
            body = try await FileIO().loadFile(path: path, context: context)
        } catch {
            throw Refusal(
                status: .notFound, code: "no-such-file", message: "export job \(job.id)'s file \(name) is gone")
        }
        let headers: HTTPFields = [.contentType: "application/fhir+ndjson"]
        return Handled(
            response: Response(status: .ok, headers: headers, body: body), purpose: "export-fhir-bulk-download")
    }

    /// Bulk Data is for the clinic and its auditor: a replica syncs instead, a patient reads `$everything`.
    private func requireBulkScope(_ caller: Caller) throws {
        switch caller.access {
        case .clinic, .audit: return
        case .replica, .home:
            throw Refusal(
                status: .forbidden, code: "out-of-scope",
                message:
                    "a \(caller.token.scope) token cannot export the whole clinic; Bulk Data takes a clinic or audit token"
            )
        }
    }

    /// The caller's job the path names (404 for an unknown, expired or another token's job).
    private func bulkJob(_ context: BasicRequestContext, _ caller: Caller) throws -> BulkExportJobs.Job {
        let id = context.parameters.get("job") ?? ""
        guard let job = bulkJobs.job(id, owner: caller.token.id) else { throw Self.noSuchJob(id) }
        return job
    }

    private static func noSuchJob(_ id: String) -> Refusal {
        Refusal(
            status: .notFound, code: "no-such-job",
            message: "no export job \(id.prefix(80)) of this token: unknown, deleted, or past its retention")
    }

    /// A FHIR instant (RFC 3339 with a time zone, any fraction of a second) as a timestamp, to the millisecond.
    static func instant(_ text: String) -> Timestamp? {
        var bytes = Array(text.utf8)
        guard bytes.count >= 20, bytes[10] == UInt8(ascii: "T") || bytes[10] == UInt8(ascii: "t") else { return nil }
        bytes[10] = UInt8(ascii: "T")
        // A leap second reads as the second before it.
        if bytes[17] == UInt8(ascii: "6"), bytes[18] == UInt8(ascii: "0") {
            bytes[17] = UInt8(ascii: "5")
            bytes[18] = UInt8(ascii: "9")
        }
        let isDigit = { (byte: UInt8) in (0x30...0x39).contains(byte) }
        var rest = bytes[19...]
        var fraction: [UInt8] = []
        if rest.first == UInt8(ascii: ".") {
            let digits = rest.dropFirst().prefix(while: isDigit)
            guard !digits.isEmpty else { return nil }
            fraction = [UInt8(ascii: ".")] + digits.prefix(3)
            rest = rest.dropFirst(1 + digits.count)
        }
        var offsetMinutes = 0
        switch rest.first {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            guard rest.count == 1 else { return nil }
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            let zone = Array(rest.dropFirst())
            guard zone.count == 5, zone[2] == UInt8(ascii: ":"), zone[0..<2].allSatisfy(isDigit),
                zone[3..<5].allSatisfy(isDigit)
            else { return nil }
            let hours = Int(zone[0] - 0x30) * 10 + Int(zone[1] - 0x30)
            let minutes = Int(zone[3] - 0x30) * 10 + Int(zone[4] - 0x30)
            guard hours < 24, minutes < 60 else { return nil }
            offsetMinutes = (hours * 60 + minutes) * (rest.first == UInt8(ascii: "-") ? -1 : 1)
        default:
            return nil
        }
        let utc = String(decoding: bytes[0..<19] + fraction + [UInt8(ascii: "Z")], as: UTF8.self)
        guard let local = try? Timestamp(checked: utc) else { return nil }
        return Timestamp(millisecondsSinceEpoch: local.millisecondsSinceEpoch - Int64(offsetMinutes) * 60_000)
    }

    private static let prefer = HTTPField.Name("Prefer")!
    private static let xProgress = HTTPField.Name("X-Progress")!
}
