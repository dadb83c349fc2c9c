import ArgumentParser
import Foundation
import ProloDomain
import ProloProjections
import ProloStore

/// `prolo record`: validates a payload against its schema, then signs and appends it as a new event.
struct RecordCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "record",
        abstract: "Record a new event from a JSON payload.",
        discussion: """
            The payload is validated against the newest Schemas/events/<type>.v<N>.json before anything is written;
            an invalid payload names the JSON path at fault and the store is left unchanged.
            KIND may be a full type (exam.recorded) or a short alias: \(Self.aliasList).
            Prints the new event's id. On a patient's home store, a side effect or pain report that raises an
            urgent alert (possible infection, neurological red flag, breathlessness or chest pain, allergic
            reaction) also prints what to do now, offline (on standard error; exit 0). The clinic sees the alert
            at the next sync.
            """
    )

    static let aliases: [String: EventType] = [
        "register": .patientRegistered, "consent": .consentRecorded, "exam": .examRecorded,
        "plan": .coursePlanned, "injection": .injectionAdministered, "side-effect": .sideEffectReported,
        "side-effect-resolved": .sideEffectResolved, "pain": .painReported, "adjunct": .adjunctTherapyRecorded,
        "schedule": .sessionScheduled, "cancel": .sessionCancelled, "clear-alert": .alertCleared,
        "close": .courseClosed, "amend": .eventAmended, "retract": .eventRetracted,
        "enroll": .deviceEnrolled, "revoke": .deviceRevoked,
    ]

    static var aliasList: String { aliases.keys.sorted().joined(separator: ", ") }

    @OptionGroup var options: StoreOptions

    @Argument(help: "The event type or a short alias (instead of --type).")
    var kind: String?

    @Option(name: .long, help: "The event type, e.g. exam.recorded.")
    var type: String?

    @Option(name: .long, help: "The patient the event is about (omit for device.* events).")
    var patient: String?

    @Option(name: .long, help: ArgumentHelp("The JSON payload file, or - for standard input.", valueName: "PATH|-"))
    var file: String

    @Option(name: .long, help: "Clinical time, RFC 3339 UTC (default: now).")
    var occurredAt: String?

    @Option(name: .long, help: "Who records it: practitioner or patient id (default: the device name).")
    var author: String?

    @Option(name: .long, help: "The author's role: clinician, patient, admin or system.")
    var role: String = "clinician"

    @Flag(name: .long, help: "Print the stored event as JSON instead of its id.")
    var json = false

    /// The largest payload file accepted.
    static let maximumPayloadBytes = 1 << 20

    func run() throws {
        try guarded {
            let eventType = try resolveType()
            let patientID = try resolvePatient(for: eventType)
            let occurred = try resolveOccurredAt()
            // Through the projection, so the read models update in the append's transaction.
            let projected = try options.openProjected()
            let store = projected.store
            let key = try DeviceKeyFile.load(from: DeviceKeyFile.path(forStore: store.path))
            let authorValue = try resolveAuthor(store: store)
            let bytes = try readPayload()
            let draft: EventDraft
            do throws(PayloadError) {
                draft = try EventDraft(
                    type: eventType, json: bytes, patient: patientID, occurredAt: occurred, author: authorValue)
            } catch {
                throw Failure(error, source: file == "-" ? "standard input" : file)
            }
            let stored = try store.record([draft], signedBy: key)[0]
            say(json ? Output.json(try Output.eventObject(stored)) : stored.event.id.text)
            try adviseAtHome(projected, after: stored.event)
        }
    }

    /// On a home store, the urgent advice for the alerts the new report raised: the patient reads it at once,
    /// without the clinic or a network.
    private func adviseAtHome(_ projected: ProjectedStore, after event: Event) throws {
        guard projected.store.identity.homePatient != nil, let patient = event.patient,
            event.type == .sideEffectReported || event.type == .painReported,
            let state = try projected.state(of: patient)
        else { return }
        for advice in UrgentAdvice.advice(for: state, raisedBy: event.id.text) {
            FileHandle.standardError.write(Data("\(advice)\n".utf8))
        }
    }

    private func resolveType() throws -> EventType {
        let names = [kind, type].compactMap { $0 }
        guard let name = names.first else {
            throw Failure(.usage, "say which event to record: --type TYPE or a kind such as `prolo record exam`")
        }
        let resolved = try Self.aliases[name] ?? EventType(checked: name)
        if names.count == 2 {
            let other = try Self.aliases[names[1]] ?? EventType(checked: names[1])
            guard other == resolved else { throw Failure(.usage, "KIND \(name) and --type \(names[1]) disagree") }
        }
        return resolved
    }

    private func resolvePatient(for eventType: EventType) throws -> PatientID? {
        if eventType.isAdministrative {
            guard patient == nil else {
                throw Failure(.usage, "\(eventType.rawValue) is administrative and concerns no patient: drop --patient")
            }
            return nil
        }
        guard let patient else {
            throw Failure(.usage, "missing --patient: every \(eventType.rawValue) event is about one patient")
        }
        do {
            return try PatientID(checked: patient)
        } catch {
            throw Failure(.usage, "--patient: \(error.message)")
        }
    }

    private func resolveOccurredAt() throws -> Timestamp {
        guard let occurredAt else { return Timestamp.now() }
        do {
            return try Timestamp(checked: occurredAt)
        } catch {
            throw Failure(.usage, "--occurred-at: \(error.message)")
        }
    }

    private func resolveAuthor(store: EventStore) throws -> Author {
        guard let authorRole = Author.Role(rawValue: role) else {
            throw Failure(.usage, "--role must be one of \(Author.Role.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return Author(id: try Self.authorID(author, store: store), role: authorRole)
    }

    /// `--author`, or this device's name when it is not given; either must be an identifier.
    static func authorID(_ author: String?, store: EventStore) throws -> Identifier {
        let name = author ?? store.identity.deviceName
        guard let id = try? Identifier(checked: name) else {
            throw Failure(
                .usage,
                author == nil
                    ? "the device name \"\(name)\" is not an identifier; give --author ID"
                    : "--author: \"\(name)\" is not \(IdentifierRule.expectation)")
        }
        return id
    }

    private func readPayload() throws -> [UInt8] {
        let handle: FileHandle
        if file == "-" {
            handle = FileHandle.standardInput
        } else {
            guard FileManager.default.fileExists(atPath: file) else { throw Failure(.noInput, "no such file: \(file)") }
            guard let opened = FileHandle(forReadingAtPath: file) else {
                throw Failure(.permissionDenied, "cannot read \(file): permission denied")
            }
            handle = opened
        }
        let data: Data
        do {
            data = try handle.read(upToCount: Self.maximumPayloadBytes + 1) ?? Data()
        } catch {
            throw Failure(.ioError, "cannot read \(file): \(error.localizedDescription)")
        }
        guard data.count <= Self.maximumPayloadBytes else {
            throw Failure(.dataError, "\(file): payload is larger than \(Self.maximumPayloadBytes) bytes")
        }
        return [UInt8](data)
    }
}
