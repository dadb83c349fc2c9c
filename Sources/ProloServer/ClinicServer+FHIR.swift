import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import ProloDomain
import ProloExport
import ProloStore

extension ClinicServer {
    /// `GET /v1/fhir/Patient/{patient}/$everything`: the patient's record as one FHIR R4 `collection` Bundle (as
    /// `prolo export fhir`), for a token that may read that patient (DeviceAccess: a `patient:ID` token only its
    /// own record). `{patient}` is Prolo's patient id or the Patient resource's id (its registration event's UUID).
    /// The read is written to the access log with the purpose `export-fhir`.
    func fhirEverything(_ request: Request, _ context: BasicRequestContext, _ caller: Caller) async throws -> Handled {
        guard let text = context.parameters.get("patient") else {
            throw Refusal(status: .badRequest, code: "malformed", message: "not a patient id")
        }
        guard let patient = try await fhirPatient(named: text) else {
            throw Refusal(status: .badRequest, code: "malformed", message: "\(text.prefix(80)) is not a patient id")
        }
        guard caller.access.mayRead(patient: patient) else {
            throw Refusal(
                status: .forbidden, code: "out-of-scope",
                message: "a \(caller.token.scope) token cannot read patient \(patient)")
        }
        let options = FHIRExportOptions(base: fhirBase(of: request))
        let bytes: [UInt8]
        do {
            bytes = try await log.patientBundle(of: patient, options: options)
        } catch let error as FHIRExportError where error.code == .noSuchPatient {
            throw Refusal(status: .notFound, code: "no-such-patient", message: error.message)
        }
        let response = Response(
            status: .ok, headers: [.contentType: "application/fhir+json"],
            body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        return Handled(response: response, patient: patient.text, purpose: "export-fhir")
    }

    /// This server's FHIR base as the request reached it: `http(s)://HOST:PORT/v1/fhir`.
    func fhirBase(of request: Request) -> String {
        let scheme = configuration.tlsCertificatePath == nil ? "http" : "https"
        let authority = request.head.authority ?? "\(configuration.host):\(configuration.port)"
        return "\(scheme)://\(authority)/v1/fhir"
    }

    /// The patient a `$everything` path names: a registration event's UUID names its patient; anything else is read
    /// as a Prolo patient id (`nil` when it is not one).
    func fhirPatient(named text: String) async throws -> PatientID? {
        if let id = try? EventID(checked: text), let stored = try await log.events(ids: [id]).first,
            stored.event.type == .patientRegistered, let patient = stored.event.patient
        {
            return patient
        }
        return try? PatientID(checked: text)
    }
}
