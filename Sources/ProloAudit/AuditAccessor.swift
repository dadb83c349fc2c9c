public import ProloStore

/// Who reads a patient's record through ProloAudit, and through which face: every read function of this module
/// writes it to the store's access log (HIPAA 164.312(b)), so no face can read a record unlogged.
///
/// The read itself supplies the rest of the log line: the patient, the purpose (`audit-replay`, `audit-timeline`,
/// `audit-report`, `audit-verify`), the time and the outcome.
public struct AuditAccessor: Sendable, Hashable {
    /// The device the reader works on (for the CLI, the store's own device).
    public var device: String?
    /// Who, in the face's terms: `local:USER` for the CLI, a token's scope for a server.
    public var scope: String?
    /// The id of the token presented, when a server answers.
    public var token: String?
    /// `CLI`, or an HTTP method.
    public var method: String
    /// The command or route pattern, never with its arguments (`prolo audit replay`).
    public var route: String
    /// The request's id, when a server answers.
    public var requestID: String?

    public init(
        device: String?, scope: String?, token: String? = nil, method: String, route: String, requestID: String? = nil
    ) {
        self.device = device
        self.scope = scope
        self.token = token
        self.method = method
        self.route = route
        self.requestID = requestID
    }

    /// A person at this machine running `command` on `store` as the operating-system user `user`.
    public static func localUser(_ user: String, of store: EventStore, command: String) -> AuditAccessor {
        AuditAccessor(device: store.identity.deviceName, scope: "local:\(user)", method: "CLI", route: command)
    }

    /// Writes this access to `store`'s access log; returns why it could not be written, or `nil`.
    func log(to store: EventStore, patient: String?, purpose: String) -> StoreError? {
        let record = AccessRecord(
            token: token, device: device, scope: scope, method: method, route: route, patient: patient,
            purpose: purpose, status: 0, outcome: "ok", requestID: requestID)
        do {
            try store.logAccess(record)
            return nil
        } catch {
            return error
        }
    }
}
