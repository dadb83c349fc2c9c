public import ProloDomain
public import ProloStore

/// FHIR R4 (4.0.1) export of Prolo's records: a patient's record as a `collection` Bundle (MAPPING.md in
/// `../shared/fhir`, decisions in `Schemas/fhir-export.md`).
///
/// Guarantees: the same store gives byte-identical output (canonical JSON with sorted keys, resources in a stable
/// order, ids from event UUIDs); every literal reference resolves inside the Bundle; every event of the record
/// has one Provenance carrying its Ed25519 signature; retracted facts are `entered-in-error`, or absent where R4
/// gives the resource no status (AdverseEvent; a retracted registration leaves only Prolo's patient id).
public enum FHIRExport {
    /// The resources of a patient's record, in Bundle order.
    ///
    /// Refused with ``FHIRExportError/Code/noSuchPatient`` when the store holds no event of the patient.
    public static func resources(of patient: PatientID, from store: EventStore, options: FHIRExportOptions = .init())
        throws(FHIRExportError) -> [FHIRResource]
    {
        let devices: ClinicDevices
        do {
            devices = try ClinicDevices.load(from: store)
        } catch {
            throw FHIRExportError(error)
        }
        return try resources(of: patient, from: store, devices: devices, options: options)
    }

    /// The resources of a patient's record, with the store's devices read once for many patients.
    static func resources(
        of patient: PatientID, from store: EventStore, devices: ClinicDevices, options: FHIRExportOptions
    ) throws(FHIRExportError) -> [FHIRResource] {
        let events: PatientEvents
        do {
            events = try PatientEvents.load(patient, from: store, devices: devices)
        } catch {
            throw FHIRExportError(error)
        }
        return try resources(of: events, devices: devices, options: options)
    }

    /// The resources of a patient's record read already.
    static func resources(of events: PatientEvents, devices: ClinicDevices, options: FHIRExportOptions)
        throws(FHIRExportError) -> [FHIRResource]
    {
        let patient = events.patient
        guard events.entries.contains(where: { $0.event.patient == patient }) else {
            throw FHIRExportError(.noSuchPatient, "the store holds no event of patient \(patient)")
        }
        var builder = PatientBundleBuilder(events: events, registry: devices.registry, policy: options.policy)
        return builder.build()
    }

    /// A patient's record as one FHIR `collection` Bundle, as canonical JSON bytes.
    ///
    /// With `reader`, the read is written to the store's access log first (HIPAA 164.312(b)): the record's route,
    /// method and who is reading; the export fills in the patient, the purpose `export-fhir` and the outcome. A log
    /// that cannot be written does not stop the export: ``FHIRExportResult/accessLogFailure`` says why.
    public static func patientBundle(
        of patient: PatientID, from store: EventStore, options: FHIRExportOptions = .init(), reader: AccessRecord? = nil
    ) throws(FHIRExportError) -> FHIRExportResult {
        let resources = try resources(of: patient, from: store, options: options)
        let failure = logAccess(reader, patient: patient, purpose: "export-fhir", to: store)
        return FHIRExportResult(
            bytes: CanonicalJSON.encode(bundle(resources, type: "collection", options: options)),
            accessLogFailure: failure)
    }

    /// A patient's record as one FHIR `collection` Bundle (canonical JSON bytes) from a log read elsewhere (a
    /// clinic hub's PostgreSQL database): `events`, the patient's events; `administrative`, the log's
    /// `device.enrolled` and `device.revoked` events; `registry`, its device registry. The same Bundle as
    /// ``patientBundle(of:from:options:reader:)`` gives for a store holding the same log.
    public static func patientBundle(
        of patient: PatientID, events: [StoredEvent], administrative: [StoredEvent], registry: DeviceRegistry,
        options: FHIRExportOptions = .init()
    ) throws(FHIRExportError) -> [UInt8] {
        let devices = ClinicDevices(registry: registry, administrative: administrative)
        let record = PatientEvents(patient: patient, events: events + devices.events(about: patient))
        return CanonicalJSON.encode(bundle(try resources(of: record, devices: devices, options: options), type: "collection", options: options))
    }

    /// The event types of the `administrative` events ``patientBundle(of:events:administrative:registry:options:)``
    /// reads.
    public static var administrativeTypes: [EventType] { ClinicDevices.administrativeTypes }

    /// Writes `reader`'s read of `patient` to the access log, with its purpose and outcome `ok`; returns why it
    /// could not be written (`nil`: written, or no reader).
    static func logAccess(_ reader: AccessRecord?, patient: PatientID, purpose: String, to store: some FHIRRecordSource)
        -> StoreError?
    {
        guard var record = reader else { return nil }
        record.patient = patient.text
        record.purpose = purpose
        record.outcome = "ok"
        do {
            try store.logAccess(record)
            return nil
        } catch {
            return error
        }
    }

    /// A Bundle of `resources` with `fullUrl`s under the options' base; its timestamp is the latest update among
    /// them, so it too is the same for the same store.
    public static func bundle(_ resources: [FHIRResource], type: String, options: FHIRExportOptions) -> JSONValue {
        let latest = resources.map(\.lastUpdated).max() ?? HLC(packed: 0)
        return .object([
            "resourceType": .string("Bundle"),
            "type": .string(type),
            "timestamp": .string(FHIRElement.instant(latest)),
            "entry": .array(
                resources.map { resource in
                    .object(["fullUrl": .string(options.base + "/" + resource.key), "resource": resource.json])
                }),
        ])
    }

    /// A number as people write it: `150`, `2.5`.
    static func number(_ value: Double) -> String {
        if value.rounded() == value, let whole = Int64(exactly: value) { return String(whole) }
        return String(value)
    }
}

/// An export and whether its read reached the access log.
public struct FHIRExportResult: Sendable {
    /// The Bundle, canonical JSON.
    public let bytes: [UInt8]
    /// Why the read was not written to the access log; `nil` when it was, or when no reader was given.
    public let accessLogFailure: StoreError?
}
