import Foundation
public import ProloDomain
public import ProloStore

/// The audit export of a patient's record: a FHIR `history` Bundle with every version of every resource, as the
/// record stood after each event in canonical order, and each event's signed bytes as a Binary, so a third party
/// can check every signature without Prolo (`Tools/verify-fhir-signatures.py`).
///
/// For each event, in canonical order: a Binary (id = the event's UUID, content type
/// ``eventContentType``, data = the event's wire record of `Schemas/envelope.md`: envelope, body, hash,
/// signature), then every resource the event created (`POST`) or changed (`PUT`, `meta.versionId` + 1, including
/// the `entered-in-error` version a retraction makes), and `DELETE` for a resource it removed (a retracted
/// AdverseEvent). The last version of each resource is the one the collection export holds.
public enum FHIRHistoryExport {
    /// The content type of a Binary that carries one event's wire record.
    public static let eventContentType = "application/vnd.prolo.event"

    /// A patient's history Bundle as canonical JSON bytes; with `reader`, the read is written to the access log
    /// (purpose `export-fhir-history`).
    ///
    /// Refused with ``FHIRExportError/Code/noSuchPatient`` when the store holds no event of the patient. Builds the
    /// record once per event (quadratic in one patient's events, which number hundreds, not millions).
    public static func patientHistory(
        of patient: PatientID, from store: EventStore, options: FHIRExportOptions = .init(), reader: AccessRecord? = nil
    ) throws(FHIRExportError) -> FHIRExportResult {
        let all: PatientEvents
        let devices: ClinicDevices
        do {
            devices = try ClinicDevices.load(from: store)
            all = try PatientEvents.load(patient, from: store, devices: devices)
        } catch {
            throw FHIRExportError(error)
        }
        guard let first = all.entries.firstIndex(where: { $0.event.patient == patient }) else {
            throw FHIRExportError(.noSuchPatient, "the store holds no event of patient \(patient)")
        }
        var entries: [JSONValue] = []
        var current: [String: FHIRResource] = [:]
        var versions: [String: Int] = [:]
        var latest = HLC(packed: 0)
        for (index, entry) in all.entries.enumerated() {
            latest = max(latest, entry.event.hlc)
            entries.append(binary(of: entry.event, base: options.base))
            guard index >= first else { continue }
            let prefix = PatientEvents(patient: patient, entries: Array(all.entries[...index]))
            var builder = PatientBundleBuilder(events: prefix, registry: devices.registry, policy: options.policy)
            let resources = builder.build()
            var present: Set<String> = []
            for var resource in resources {
                present.insert(resource.key)
                if let held = current[resource.key], held.body == resource.body, held.version == resource.version {
                    continue
                }
                let version = (versions[resource.key] ?? 0) + 1
                versions[resource.key] = version
                current[resource.key] = resource
                resource.version = version
                entries.append(
                    historyEntry(
                        resource.key, method: version == 1 ? "POST" : "PUT", resource: resource, base: options.base))
            }
            for key in current.keys.sorted() where !present.contains(key) {
                current[key] = nil
                entries.append(
                    historyEntry(key, method: "DELETE", resource: nil, base: options.base, at: entry.event.hlc))
            }
        }
        let failure = FHIRExport.logAccess(reader, patient: patient, purpose: "export-fhir-history", to: store)
        let bundle: JSONValue = .object([
            "resourceType": .string("Bundle"), "type": .string("history"),
            "timestamp": .string(FHIRElement.instant(latest)), "entry": .array(entries),
        ])
        return FHIRExportResult(bytes: CanonicalJSON.encode(bundle), accessLogFailure: failure)
    }

    /// The Binary of one event: its wire record, exactly the bytes that were hashed and signed.
    static func binary(of event: Event, base: String) -> JSONValue {
        let resource = FHIRResource(
            type: "Binary", id: event.id.text,
            body: [
                "contentType": .string(eventContentType),
                "data": .string(Data(EventWireCodec.encode(event)).base64EncodedString()),
            ],
            lastUpdated: event.hlc)
        return historyEntry(resource.key, method: "POST", resource: resource, base: base)
    }

    /// A history entry: the version (none for DELETE), the request that made it and the response.
    static func historyEntry(_ key: String, method: String, resource: FHIRResource?, base: String, at time: HLC? = nil)
        -> JSONValue
    {
        var response: FHIRObject = ["status": .string(method == "POST" ? "201" : method == "PUT" ? "200" : "204")]
        if let resource {
            response["etag"] = .string("W/\"\(resource.version)\"")
            response["lastModified"] = .string(FHIRElement.instant(resource.lastUpdated))
        } else if let time {
            response["lastModified"] = .string(FHIRElement.instant(time))
        }
        var members: FHIRObject = [
            "fullUrl": .string(base + "/" + key),
            "request": .object(["method": .string(method), "url": .string(key)]),
            "response": .object(response),
        ]
        if let resource { members["resource"] = resource.json }
        return .object(members)
    }
}
