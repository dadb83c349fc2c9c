import HTTPTypes
import HummingbirdCore
import ProloStore

/// How the server fills an access-log line as a request goes, the same way for the API and the pages.
extension AccessRecord {
    /// The caller's token: its id, device and scope.
    mutating func record(_ token: AccessToken) {
        self.token = token.id
        device = token.device
        scope = token.scope
    }

    /// What a handler answered: the patient read, the purpose, the status, `ok`.
    mutating func record(_ handled: ClinicServer.Handled) {
        patient = handled.patient
        purpose = handled.purpose
        status = Int(handled.response.status.code)
        outcome = "ok"
    }
}

extension ClinicServer {
    /// Counts the request under `route` and writes its access-log line (a failure to write is not the caller's).
    func finish(_ record: AccessRecord, route: String) async {
        metrics.request(route: route, outcome: record.outcome)
        await accessLog.write(record)
    }
}
