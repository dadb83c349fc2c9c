import Foundation
import HTTPTypes
import HummingbirdCore
import Logging
import Hummingbird
import NIOCore
import ProloDomain
import ProloProjections
import ProloStore
import ProloSync

extension ClinicServer {
    // MARK: Sync

    /// `POST /v1/sync/summary`: equal vector digests answer "in sync" in one small response; otherwise the
    /// server's hello (its vector within the caller's scope) starts the exchange.
    func summary(_ request: Request, _ context: BasicRequestContext, _ caller: Caller) async throws -> Handled {
        let body = try await jsonBody(of: request)
        if let digest = body["vectorDigest"], digest.stringValue == nil {
            throw Refusal(status: .badRequest, code: "malformed", message: "vectorDigest must be a string, not \(digest.typeName)")
        }
        let scope = caller.access.syncScope
        let (vector, heads) = try await log.summary(scope)
        let digest = SyncWire.digest(of: vector, heads: heads)
        if body["vectorDigest"]?.stringValue == digest {
            return Handled(response: try json(["inSync": .bool(true), "vectorDigest": .string(digest)]), purpose: "sync-summary")
        }
        let identity = log.identity
        return Handled(
            response: try json([
                "inSync": .bool(false), "vectorDigest": .string(digest), "storeId": .string(identity.storeID),
                "root": .string(identity.rootPublicKey.base64), "device": .string(identity.publicKey.base64),
                "scope": .string(scope.description), "vector": vector.jsonValue, "heads": heads.jsonValue,
            ]),
            patient: scope.patient?.text, purpose: "sync-summary")
    }

    /// `POST /v1/sync/pull`: one byte-bounded batch of what a caller holding `vector` is missing, in scope.
    func pull(_ request: Request, _ context: BasicRequestContext, _ caller: Caller) async throws -> Handled {
        let body = try await jsonBody(of: request)
        let vector: VersionVector
        do {
            vector = try VersionVector(json: CanonicalJSON.encode(body["vector"] ?? .null))
        } catch {
            throw Refusal(status: .badRequest, code: "malformed", message: "vector: \(error.path): \(error.message)")
        }
        // The caller's chain heads (absent from an older client: the vector alone decides, as before).
        let heads: ChainHeads
        do {
            heads = try body["heads"].map { json throws(PayloadError) in try ChainHeads(json: json) } ?? ChainHeads()
        } catch {
            throw Refusal(status: .badRequest, code: "malformed", message: "heads: \(error.path): \(error.message)")
        }
        var budget = configuration.batchBytes
        switch body["maxBytes"] {
        case nil: break
        case let asked? where (asked.integerValue ?? 0) > 0: budget = min(budget, Int(clamping: asked.integerValue ?? 0))
        case let other?:
            throw Refusal(
                status: .badRequest, code: "malformed", message: "maxBytes must be a positive integer, not \(String(decoding: CanonicalJSON.encode(other).prefix(40), as: UTF8.self))")
        }
        let scope = caller.access.syncScope
        let pulled = try await log.pull(from: vector, heads: heads, scope: scope, limit: budget)
        let (records, more) = (pulled.records, pulled.more)
        metrics.sent(records.count)
        context.logger.info("pull", metadata: ["events": "\(records.count)", "more": "\(more)"])
        let batch = try SyncWire.encodeBatch(records)
        let response = Response(
            status: .ok,
            headers: [
                .contentType: SyncWire.batchContentType, HTTPField.Name("Prolo-More")!: more ? "true" : "false",
                HTTPField.Name("Prolo-Events")!: "\(records.count)",
            ],
            body: .init(byteBuffer: ByteBuffer(bytes: batch)))
        return Handled(response: response, patient: scope.patient?.text, purpose: "sync-pull")
    }

    /// `POST /v1/sync/push`: verify and append one batch in one transaction, within the caller's scope.
    func push(_ request: Request, _ context: BasicRequestContext, _ caller: Caller) async throws -> Handled {
        guard caller.access.mayPush else {
            throw Refusal(status: .forbidden, code: "read-only", message: "an \(caller.token.scope) token reads and never writes")
        }
        try refuseWritesIfReadOnly()
        let records: [[UInt8]]
        do {
            records = try SyncWire.decodeBatch(try await body(of: request))
        } catch let error as SyncError {
            throw Refusal(status: .badRequest, code: "malformed-batch", message: error.message)
        }
        var events: [Event] = []
        for (index, record) in records.enumerated() {
            do {
                events.append(try EventWireCodec.decode(record))
            } catch {
                throw Refusal(
                    status: .badRequest, code: "malformed-event", message: "record \(index + 1): \(error.message); nothing was stored",
                    record: index + 1)
            }
        }
        let scope = caller.access.appendScope
        let started = DispatchTime.now().uptimeNanoseconds
        let outcome: AppendOutcome
        do {
            let batch = events
            outcome = try await log.append(batch, scope: scope)
        } catch let error as StoreError {
            switch error.code {
            case .busy: throw Refusal(status: .serviceUnavailable, code: "busy", message: error.message)
            case .permissionDenied where error.message.contains("read-only"):
                throw Refusal(status: .forbidden, code: "read-only-server", message: error.message)
            case .invalidInput, .chainConflict:
                var record: Int? = nil
                if case .batch(let index) = error.offset { record = index + 1 }
                throw Refusal(
                    status: .unprocessableContent, code: "refused", message: error.message, event: error.event, record: record)
            default: throw error
            }
        }
        metrics.batch(appended: outcome.appended.count, seconds: Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9)
        context.logger.info(
            "push",
            metadata: [
                "events": "\(events.count)", "new": "\(outcome.appended.count)", "present": "\(outcome.alreadyPresent)",
                "quarantined": "\(outcome.quarantined.count)", "forks": "\(outcome.forks.count)",
            ])
        let response = try json([
            "new": .int(Int64(outcome.appended.count - outcome.admittedFromQuarantine)),
            "alreadyPresent": .int(Int64(outcome.alreadyPresent)),
            "quarantined": .array(
                outcome.quarantined.map { .object(["id": .string($0.id.text), "reason": .string($0.reason)]) }),
            "forks": .int(Int64(outcome.forks.count)),
            "admittedFromQuarantine": .int(Int64(outcome.admittedFromQuarantine)),
            "held": .array(
                outcome.held.map {
                    .object([
                        "id": .string($0.id.text), "reason": .string($0.reason.kind.rawValue),
                        "detail": .string($0.reason.detail),
                    ])
                }),
        ])
        return Handled(response: response, patient: caller.access.slice?.text, purpose: "sync-push")
    }

    // MARK: Devices and records

    /// `GET /v1/devices`: the registry.
    func listDevices(_ request: Request, _ context: BasicRequestContext, _ caller: Caller) async throws -> Handled {
        guard caller.access.mayReadClinic else {
            throw Refusal(status: .forbidden, code: "out-of-scope", message: "a \(caller.token.scope) token cannot list devices")
        }
        let registry = try await log.registry()
        let devices = registry.devices.values.sorted { $0.name < $1.name }.map { device -> JSONValue in
            .object([
                "name": .string(device.name), "role": .string(device.role.rawValue), "origin": .string(device.origin.text),
                "publicKey": .string(device.publicKey.base64),
                "patient": device.patient.map { .string($0.text) } ?? .null,
                "revoked": .bool(device.revokedBy != nil), "frozen": .bool(device.frozenReason != nil),
            ])
        }
        return Handled(response: try json(["devices": .array(devices)]), purpose: "list-devices")
    }

    /// `POST /v1/devices`: the server records a `device.enrolled` event, signed by its own key.
    func enroll(_ request: Request, _ context: BasicRequestContext, _ caller: Caller) async throws -> Handled {
        guard caller.access.mayEnroll else {
            throw Refusal(status: .forbidden, code: "out-of-scope", message: "only a clinic token may enroll devices")
        }
        let body = try await jsonBody(of: request)
        let payload: DeviceEnrolled
        do {
            guard let role = body["role"]?.stringValue.flatMap(DeviceEnrolled.Role.init(rawValue:)) else {
                throw Refusal(status: .badRequest, code: "malformed", message: "role must be clinic, replica, audit or home")
            }
            let keyText = body["publicKey"]?.stringValue ?? ""
            _ = try DevicePublicKey(base64: keyText)
            payload = DeviceEnrolled(
                deviceName: try Label(checked: body["name"]?.stringValue ?? ""),
                publicKey: try PublicKeyBase64(checked: keyText), role: role,
                patient: try body["patient"]?.stringValue.map { text throws(PayloadError) in try PatientID(checked: text) },
                enrolledBy: try Identifier(checked: log.identity.origin.text))
            try payload.validate()
        } catch let refusal as Refusal {
            throw refusal
        } catch {
            throw Refusal(status: .badRequest, code: "malformed", message: "\(error)")
        }
        let draft = try EventDraft(
            payload, patient: nil, occurredAt: .now(), author: Author(id: try Identifier(checked: caller.token.device), role: .admin))
        try refuseWritesIfReadOnly()
        do {
            let stored = try await log.record([draft], signedBy: key)[0]
            return Handled(
                response: try json(["eventId": .string(stored.event.id.text)], status: .created), purpose: "enroll-device")
        } catch let error as StoreError where error.code == .permissionDenied {
            throw Refusal(status: .forbidden, code: "not-admin", message: error.message)
        }
    }

    /// `GET /v1/patients/{patient}`: a patient's treatment state (as `prolo patient show --json`).
    func patient(_ request: Request, _ context: BasicRequestContext, _ caller: Caller) async throws -> Handled {
        guard let text = context.parameters.get("patient"), let patient = try? PatientID(checked: text) else {
            throw Refusal(status: .badRequest, code: "malformed", message: "not a patient id")
        }
        guard caller.access.mayRead(patient: patient) else {
            throw Refusal(
                status: .forbidden, code: "out-of-scope", message: "a \(caller.token.scope) token cannot read patient \(patient)")
        }
        guard let state = try await log.state(of: patient) else {
            throw Refusal(status: .notFound, code: "no-such-patient", message: "no events of patient \(patient)")
        }
        let response = Response(
            status: .ok, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: CanonicalJSON.encode(state.jsonValue(at: .now())))))
        return Handled(response: response, patient: patient.text, purpose: "read-record")
    }

    /// `GET /v1/alerts`: uncleared alerts of every patient, most severe first.
    func alerts(_ request: Request, _ context: BasicRequestContext, _ caller: Caller) async throws -> Handled {
        guard caller.access.mayReadClinic else {
            throw Refusal(
                status: .forbidden, code: "out-of-scope", message: "a \(caller.token.scope) token cannot list clinic alerts")
        }
        let alerts = try await log.openAlerts()
        let array = alerts.map { alert -> JSONValue in
            .object([
                "patient": .string(alert.patient), "kind": .string(alert.kind),
                "raisedBy": .array(alert.raisedBy.map(JSONValue.string)), "raisedAt": .string(alert.raisedAt),
                "severity": .int(Int64(alert.severity)), "review": .bool(alert.isReviewFlag),
            ])
        }
        return Handled(response: try json(["alerts": .array(array)]), purpose: "read-alerts")
    }

    /// A server on a standby (`prolo serve --read-only`) serves pulls and reads and refuses every write.
    func refuseWritesIfReadOnly() throws {
        guard log.isReadOnly else { return }
        throw Refusal(
            status: .forbidden, code: "read-only-server",
            message: "this server is read-only (a standby's copy): it serves pulls and reads, and takes no pushes or "
                + "enrollments; send them to the primary")
    }
}
