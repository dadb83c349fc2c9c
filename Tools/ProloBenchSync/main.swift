// prolo-bench-sync: the sync benchmark. Run through Tools/bench-sync.sh (release build).
//
// Workloads: a clinic root store holding N events of the clinical mix over P patients, recorded by the root and
// a few devices it enrolled (their events reach the root through the verify-and-append path); export everything
// to a bundle file, not encrypted and encrypted (events/s, bytes per event); import the encrypted bundle into a
// fresh joined store, with read models (as `prolo sync import`) and without (events/s, full verification); import
// it again when every event is already present; the effect of export order (a device whose origin id sorts before
// the root's: its events wait in quarantine for their enrollment); and the bytes of the in-sync exchange with a
// version vector of 1 000 origins. Prints a Markdown table.
import Crypto
import Foundation
import ProloDomain
import ProloProjections
import ProloStore
import ProloSync

struct Options {
    var events = 100_000
    var patients = 1_000
    var devices = 3
    var batch = 1_000
    var origins = 1_000
    var orderEvents = 20_000
    var directory = NSTemporaryDirectory() + "prolo-bench-sync-\(getpid())"

    init(arguments: [String]) {
        var iterator = arguments.dropFirst().makeIterator()
        while let argument = iterator.next() {
            let text = iterator.next()
            let value = text.flatMap { Int($0.replacingOccurrences(of: "_", with: "")) }
            switch argument {
            case "--events": events = value ?? events
            case "--patients": patients = value ?? patients
            case "--devices": devices = value ?? devices
            case "--batch": batch = value ?? batch
            case "--origins": origins = value ?? origins
            case "--order-events": orderEvents = value ?? orderEvents
            case "--dir": directory = (text ?? directory) + "/prolo-bench-sync-\(getpid())"
            default:
                FileHandle.standardError.write(
                    Data(
                        ("usage: prolo-bench-sync [--events N] [--patients N] [--devices N] [--batch N] [--origins N] "
                            + "[--order-events N] [--dir DIR]\n").utf8))
                exit(64)
            }
        }
        patients = max(1, min(patients, events))
        batch = max(1, batch)
        devices = max(0, devices)
        origins = max(1, origins)
    }
}

// MARK: The clinical mix (a copy of Tools/ProloBenchProjection/main.swift's; keep the two in step)

/// SplitMix64: a small seeded generator, so every run records the same mix.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func chance(_ percent: Double) -> Bool { Double.random(in: 0..<100, using: &self) < percent }
}

/// The catalog examples as JSON objects, to be varied per patient.
struct Templates: Sendable {
    let members: [EventType: [String: JSONValue]]

    init() throws {
        var members: [EventType: [String: JSONValue]] = [:]
        for payload in CatalogExamples.all {
            members[type(of: payload).eventType] = try PayloadCodec.encodeValue(payload).objectValue ?? [:]
        }
        self.members = members
    }

    subscript(type: EventType) -> [String: JSONValue] { members[type] ?? [:] }
}

/// One patient's treatment story, told one event at a time: registration, consent, exam and a planned course;
/// then per session a booking (sometimes cancelled and rebooked, or booked twice and the duplicate retracted),
/// the injection, sometimes a side effect (rarely a fever that raises and clears a possible-infection alert) and
/// its resolution, pain reports (sometimes amended) and adjunct therapy; a follow-up exam and the course's close;
/// after a pause, another course. Events refer to the real ids of the patient's earlier events, so each one must
/// be recorded (``recorded(_:)``) before the next is drafted.
struct PatientStory {
    enum Step: String, CaseIterable {
        case register, consent, exam, plan, schedule, duplicate, retract, cancel, inject, sideEffect, fever, clear
        case resolve, pain, amend, adjunct, followUp, close
    }

    static let dayMs: Int64 = 86_400_000
    static let clinician = Author(id: "prac-0012", role: .clinician)
    static let givenNames = ["Maren", "Johan", "Aino", "Lars", "Ingrid", "Mikael", "Sofia", "Erik", "Noor", "Tomas"]
    static let familyNames = ["Lindqvist", "Berg", "Nieminen", "Dahl", "Holm", "Sandberg", "Virtanen", "Ek", "Ali", "Strand"]

    let patient: PatientID
    let number: Int
    private(set) var time: Int64
    private var agenda: [Step] = [.register, .consent, .exam, .plan]
    private var last: Step = .register
    private var course: String?
    private var sessionsPlanned = 6
    private var sessionsDone = 0
    private var nrs: Int
    private var odi: Int
    private var baselineNRS: Int
    private var session: String?
    private var duplicate: String?
    private var injection: String?
    private var sideEffect: String?
    private var painReport: String?
    private var painScore = 5

    init(number: Int, generator: inout SeededGenerator) throws {
        self.number = number
        patient = try PatientID(checked: String(format: "p-%05d", number))
        time = 1_780_000_000_000 + Int64.random(in: 0..<(365 * Self.dayMs), using: &generator)
        nrs = Int.random(in: 5...9, using: &generator)
        odi = Int.random(in: 25...60, using: &generator)
        baselineNRS = nrs
    }

    /// Drafts the patient's next event.
    mutating func next(_ templates: Templates, _ generator: inout SeededGenerator) throws -> EventDraft {
        if agenda.isEmpty { refill(&generator) }
        let step = agenda.removeFirst()
        last = step
        time += Int64.random(in: (Self.dayMs / 4)...(3 * Self.dayMs), using: &generator)
        let (type, members, author) = payload(of: step, templates, &generator)
        return try EventDraft(
            type: type, json: CanonicalJSON.encode(.object(members)), patient: patient,
            occurredAt: Timestamp(millisecondsSinceEpoch: time), author: author)
    }

    /// Remembers the id of the event last drafted, for the events that will refer to it.
    mutating func recorded(_ id: EventID) {
        switch last {
        case .plan: course = id.text
        case .schedule: session = id.text
        case .duplicate: duplicate = id.text
        case .inject: injection = id.text
        case .sideEffect, .fever: sideEffect = id.text
        case .pain: painReport = id.text
        default: break
        }
    }

    private mutating func refill(_ generator: inout SeededGenerator) {
        if course != nil, sessionsDone < sessionsPlanned {
            var block: [Step] = [.schedule]
            if generator.chance(5) { block += [.cancel, .schedule] }
            if generator.chance(1) { block += [.duplicate, .retract] }
            block.append(.inject)
            if generator.chance(1.5) {
                block += [.fever, .clear, .pain, .resolve]
            } else if generator.chance(12) {
                block += [.sideEffect, .pain, .resolve]
            }
            block += [.pain, .adjunct, .pain, .adjunct, .pain]
            if generator.chance(3) { block.append(.amend) }
            block.append(.pain)
            agenda = block
        } else if course != nil {
            agenda = [.followUp, .pain, .close]
        } else {
            agenda = [.adjunct, .pain, .pain, .exam, .plan]
        }
    }

    private func text(_ milliseconds: Int64) -> JSONValue { .string(Timestamp(millisecondsSinceEpoch: milliseconds).text) }
    private var patientReporter: JSONValue { .object(["role": .string("patient"), "id": .string(patient.text)]) }
    private var clinicianReporter: JSONValue { .object(["role": .string("clinician"), "id": .string("prac-0012")]) }

    private mutating func payload(of step: Step, _ templates: Templates, _ generator: inout SeededGenerator)
        -> (EventType, [String: JSONValue], Author)
    {
        var author = Self.clinician
        let patientAuthor = Author(id: patient, role: .patient)
        switch step {
        case .register:
            var members = templates[.patientRegistered]
            let given = Self.givenNames.randomElement(using: &generator) ?? "Maren"
            let family = Self.familyNames.randomElement(using: &generator) ?? "Lindqvist"
            members["mrn"] = .string(String(format: "MRN-%07d", 40_000 + number))
            members["name"] = .object(["given": .string(given), "family": .string(family)])
            members["birthDate"] = .string(
                String(
                    format: "%04d-%02d-%02d", Int.random(in: 1940...2000, using: &generator),
                    Int.random(in: 1...12, using: &generator), Int.random(in: 1...28, using: &generator)))
            members["sex"] = .string(["female", "male"].randomElement(using: &generator) ?? "female")
            members["contact"] = .object([
                "phone": .string(String(format: "+46 70 %03d %02d %02d", number % 1000, number % 97, number % 89)),
                "email": .string("\(given.lowercased()).\(family.lowercased())\(number)@example.org"),
            ])
            return (.patientRegistered, members, author)
        case .consent:
            var members = templates[.consentRecorded]
            members["formSha256"] = .string(
                (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined())
            return (.consentRecorded, members, author)
        case .exam, .followUp:
            var members = templates[.examRecorded]
            members["painNRS"] = .int(Int64(nrs))
            members["odi"] = .int(Int64(odi))
            return (.examRecorded, members, author)
        case .plan:
            var members = templates[.coursePlanned]
            sessionsPlanned = Int.random(in: 3...8, using: &generator)
            sessionsDone = 0
            baselineNRS = nrs
            members["sessions"] = .int(Int64(sessionsPlanned))
            let minWeeks = Int.random(in: 1...3, using: &generator)
            members["interval"] = .object(["minWeeks": .int(Int64(minWeeks)), "maxWeeks": .int(Int64(minWeeks + 2))])
            return (.coursePlanned, members, author)
        case .schedule, .duplicate:
            var members = templates[.sessionScheduled]
            members["appointmentAt"] = text(time + 7 * Self.dayMs)
            members["reason"] = .string("Session \(sessionsDone + 1) of \(sessionsPlanned)")
            return (.sessionScheduled, members, author)
        case .cancel:
            var members = templates[.sessionCancelled]
            members["session"] = .string(session ?? CatalogExamples.secondSessionEventID.text)
            members["appointmentAt"] = text(time + 6 * Self.dayMs)
            members["cancelledBy"] = patientReporter
            members["note"] = .string("Rebooked for the following week.")
            return (.sessionCancelled, members, patientAuthor)
        case .retract:
            var members = templates[.eventRetracted]
            members["target"] = .string(duplicate ?? CatalogExamples.duplicateSessionEventID.text)
            members["note"] = .string("Same booking as \(session ?? "the first"), made on the front-desk laptop while offline.")
            return (.eventRetracted, members, author)
        case .inject:
            var members = templates[.injectionAdministered]
            sessionsDone += 1
            members["lot"] = .string(String(format: "DX15-%04d-%03d", 2600 + number % 12, Int.random(in: 1...999, using: &generator)))
            if case .array(let sites)? = members["sites"] {
                members["sites"] = .array(
                    sites.map { site in
                        guard var site = site.objectValue else { return site }
                        site["volumeMl"] = .double(Double(Int.random(in: 2...6, using: &generator)) / 2)
                        site["needlePasses"] = .int(Int64.random(in: 1...5, using: &generator))
                        return .object(site)
                    })
            }
            if generator.chance(60) {  // most sessions help a little
                nrs = max(0, nrs - 1)
                odi = max(0, odi - Int.random(in: 0...6, using: &generator))
            }
            return (.injectionAdministered, members, author)
        case .sideEffect:
            var members = templates[.sideEffectReported]
            members["reporter"] = patientReporter
            members["onset"] = text(time)
            members["kinds"] = .array(
                ([["post-injection-pain"], ["stiffness"], ["bruising"], ["post-injection-pain", "stiffness"]]
                    .randomElement(using: &generator) ?? ["stiffness"]).map(JSONValue.string))
            members["grade"] = .int(Int64.random(in: 1...2, using: &generator))
            members["temperatureC"] = nil
            members["relatedInjection"] = injection.map(JSONValue.string)
            members["note"] = .string("Sore around the injection sites since the session.")
            return (.sideEffectReported, members, patientAuthor)
        case .fever:
            var members = templates[.sideEffectReported]
            members["reporter"] = patientReporter
            members["onset"] = text(time)
            members["temperatureC"] = .double(Double(Int.random(in: 382...392, using: &generator)) / 10)
            members["relatedInjection"] = injection.map(JSONValue.string)
            return (.sideEffectReported, members, patientAuthor)
        case .clear:
            var members = templates[.alertCleared]
            members["raisedBy"] = .array([.string(sideEffect ?? CatalogExamples.sideEffectEventID.text)])
            return (.alertCleared, members, author)
        case .resolve:
            var members = templates[.sideEffectResolved]
            members["report"] = .string(sideEffect ?? CatalogExamples.sideEffectEventID.text)
            members["resolvedAt"] = text(time)
            members["recordedBy"] = clinicianReporter
            return (.sideEffectResolved, members, author)
        case .pain:
            var members = templates[.painReported]
            members["reporter"] = patientReporter
            if generator.chance(80) {
                painScore = min(10, max(0, nrs + Int.random(in: -1...1, using: &generator)))
                members["instrument"] = .string("nrs")
            } else {
                painScore = min(100, max(0, odi + Int.random(in: -4...4, using: &generator)))
                members["instrument"] = .string("odi")
            }
            members["score"] = .int(Int64(painScore))
            if generator.chance(50) { members["note"] = nil }
            author = patientAuthor
            return (.painReported, members, author)
        case .amend:
            var members = templates[.eventAmended]
            var corrected = templates[.painReported]
            corrected["reporter"] = patientReporter
            corrected["score"] = .int(Int64(max(0, min(10, painScore - 1))))
            corrected["instrument"] = .string("nrs")
            members["payload"] = .object(corrected)
            members["target"] = .string(painReport ?? CatalogExamples.painReportEventID.text)
            return (.eventAmended, members, author)
        case .adjunct:
            var members = templates[.adjunctTherapyRecorded]
            members["therapy"] = .string(
                ["exercise", "spinal-manipulation", "massage", "physiotherapy"].randomElement(using: &generator) ?? "exercise")
            members["provider"] = .string(String(format: "prac-%04d", Int.random(in: 20...40, using: &generator)))
            return (.adjunctTherapyRecorded, members, author)
        case .close:
            var members = templates[.courseClosed]
            members["course"] = .string(course ?? CatalogExamples.courseEventID.text)
            members["reason"] = .string(nrs * 2 <= baselineNRS ? "resolved" : "no-improvement")
            course = nil
            return (.courseClosed, members, author)
        }
    }
}

/// Many patients' stories, advanced together.
struct Clinic {
    let templates: Templates
    var generator: SeededGenerator
    var stories: [PatientStory]

    init(patients: Int, seed: UInt64, firstNumber: Int = 0) throws {
        templates = try Templates()
        generator = SeededGenerator(state: seed)
        var stories: [PatientStory] = []
        stories.reserveCapacity(patients)
        for number in firstNumber..<(firstNumber + patients) {
            stories.append(try PatientStory(number: number, generator: &generator))
        }
        self.stories = stories
    }

    /// The next event of each of `indices` (distinct patients).
    mutating func drafts(for indices: some Sequence<Int>) throws -> [EventDraft] {
        try indices.map { index in try stories[index].next(templates, &generator) }
    }

    /// Tells the stories of `indices` the ids their last drafts got.
    mutating func recorded(_ stored: [StoredEvent], for indices: some Sequence<Int>) {
        for (index, event) in zip(indices, stored) { stories[index].recorded(event.event.id) }
    }
}

// MARK: Measuring

func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

func seconds(since start: UInt64) -> Double { Double(now() - start) / 1e9 }

func timed<Result>(_ body: () throws -> Result) rethrows -> (Result, Double) {
    let start = now()
    let result = try body()
    return (result, seconds(since: start))
}

func peakRSSMegabytes() -> Double {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
        let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") })
    else { return 0 }
    let kilobytes = Double(line.split(separator: " ").dropFirst().first.map(String.init) ?? "0") ?? 0
    return kilobytes / 1024
}

func machine() -> String {
    let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
    let model = cpuinfo.split(separator: "\n").first { $0.hasPrefix("model name") }?.split(separator: ":").last?
        .trimmingCharacters(in: .whitespaces) ?? "unknown CPU"
    return "\(ProcessInfo.processInfo.activeProcessorCount) cores, \(model)"
}

func fileBytes(_ path: String) -> Int { (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0 }

func format(_ value: Double, _ digits: Int = 0) -> String { String(format: "%.\(digits)f", value) }

/// Process start, for the progress lines.
enum Clock {
    static let start = now()
}

func progressNote(_ text: String) {
    FileHandle.standardError.write(Data("prolo-bench-sync [\(format(seconds(since: Clock.start), 1)) s]: \(text)\n".utf8))
}

// MARK: The clinic

/// A device key whose origin id sorts after (or before) `other`'s, so a full export (origin by origin, sorted by
/// id) carries the root's enrollments before (or after) that device's events.
func key(sorting after: Bool, _ other: DeviceKey) -> DeviceKey {
    while true {
        let key = DeviceKey()
        if (key.publicKey.origin.text > other.publicKey.origin.text) == after { return key }
    }
}

func enrollment(of key: DeviceKey, named name: String, by root: DeviceKey) throws -> EventDraft {
    let payload = DeviceEnrolled(
        deviceName: try Label(checked: name), publicKey: try PublicKeyBase64(checked: key.publicKey.base64), role: .clinic,
        patient: nil, enrolledBy: try Identifier(checked: root.publicKey.origin.text))
    return try EventDraft(payload, patient: nil, occurredAt: .now(), author: Author(id: "admin-0001", role: .admin))
}

/// A root store with `events` events of the clinical mix: each batch is recorded by the root (unless
/// `rootRecords` is false) or by one of the devices in turn; a device's batch reaches the root through `append`
/// (verify and append), as a sync would.
func makeClinic(
    at directory: String, events: Int, patients: Int, devices deviceKeys: [DeviceKey], rootKey: DeviceKey, batch: Int,
    seed: UInt64, rootRecords: Bool = true
) throws -> EventStore {
    let root = try EventStore.create(at: directory + "/root.sqlite", deviceName: "clinic-server", key: rootKey)
    var writers: [(store: EventStore, key: DeviceKey)] = [(root, rootKey)]
    for (index, key) in deviceKeys.enumerated() {
        let name = "laptop-\(index + 1)"
        let store = try EventStore.create(
            at: directory + "/\(name).sqlite", deviceName: name, key: key,
            trust: .joining(root: rootKey.publicKey, homePatient: nil))
        try root.record([try enrollment(of: key, named: name, by: rootKey)], signedBy: rootKey)
        writers.append((store, key))
    }
    var clinic = try Clinic(patients: patients, seed: seed)
    var recorded = 0
    var turn = 0
    while recorded < events {
        let round = min(patients, events - recorded)
        var start = 0
        while start < round {
            let indices = start..<min(round, start + batch)
            let drafts = try clinic.drafts(for: indices)
            let writer = rootRecords || writers.count == 1 ? writers[turn % writers.count] : writers[1 + turn % (writers.count - 1)]
            turn += 1
            let stored = try writer.store.record(drafts, signedBy: writer.key)
            if writer.store !== root { try root.append(stored.map(\.event)) }
            clinic.recorded(stored, for: indices)
            start = indices.upperBound
        }
        recorded += round
        if recorded % 20_000 < patients || recorded == events { progressNote("root holds \(recorded) events") }
    }
    return root
}

// MARK: The run

struct Row {
    let name: String
    let events: Int
    let seconds: Double
    var bytes: Int? = nil
    var note = ""
}

func run() throws {
    let options = Options(arguments: CommandLine.arguments)
    let directory = options.directory
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    var rows: [Row] = []

    // 1. The clinic: devices whose origins sort after the root's (the best export order; see section 5).
    let rootKey = DeviceKey()
    let deviceKeys = (0..<options.devices).map { _ in key(sorting: true, rootKey) }
    let (root, setupSeconds) = try timed {
        try makeClinic(
            at: directory, events: options.events, patients: options.patients, devices: deviceKeys, rootKey: rootKey,
            batch: options.batch, seed: 42)
    }
    let total = try root.count()
    var wireBytes = 0
    var bodyBytes = 0
    try root.scan(EventFilter()) { stored in
        wireBytes += EventWireCodec.encode(stored.event).count
        bodyBytes += stored.event.body.count
    }

    // Where the time of verifying a received event goes, one core, per event (a sample of the root's events).
    let registry = try root.registry()
    let sample = Array(try root.events(EventFilter(limit: 5_000)))
    let records = sample.map { EventWireCodec.encode($0.event) }
    let (decoded, decodeSeconds) = try timed { try records.map { try EventWireCodec.decode($0) } }
    let (hashesValid, hashSeconds) = timed { decoded.allSatisfy(\.hasValidHash) }
    let keys = decoded.map { event -> DevicePublicKey? in
        if case .admit(let key) = registry.admission(of: event) { return key }
        return nil
    }
    let (signaturesValid, signatureSeconds) = timed {
        zip(decoded, keys).allSatisfy { event, key in key?.isValidSignature(event.signature, for: event.hash.bytes) ?? false }
    }
    let stages: [(String, Double)] = [
        ("decode the wire record (EventWireCodec.decode: envelope JSON, ids, hashes)", decodeSeconds),
        ("check the hash (canonical envelope + SHA-256)\(hashesValid ? "" : " FAILED")", hashSeconds),
        ("verify the Ed25519 signature\(signaturesValid ? "" : " FAILED")", signatureSeconds),
    ]

    // 2. Export.
    let receiverKey = DeviceKey()
    let plainPath = directory + "/full.prolo"
    let encryptedPath = directory + "/full-encrypted.prolo"
    progressNote("exporting")
    let (plainSummary, plainSeconds) = try timed {
        try BundleExport.export(from: root, signedBy: rootKey, to: plainPath)
    }
    rows.append(Row(
        name: "export everything, not encrypted", events: plainSummary.events, seconds: plainSeconds,
        bytes: Int(plainSummary.bytes), note: "\(plainSummary.blocks) blocks"))
    var encryptedOptions = BundleExport.Options()
    encryptedOptions.recipient = try receiverKey.agreementKey().publicKey
    let (encryptedSummary, encryptedSeconds) = try timed {
        try BundleExport.export(from: root, signedBy: rootKey, to: encryptedPath, options: encryptedOptions)
    }
    rows.append(Row(
        name: "export everything, encrypted to the receiver (HPKE)", events: encryptedSummary.events,
        seconds: encryptedSeconds, bytes: Int(encryptedSummary.bytes), note: "\(encryptedSummary.blocks) blocks"))

    // 3. Import into fresh joined stores, then again with everything present.
    let trust = StoreTrust.joining(root: rootKey.publicKey, homePatient: nil)
    progressNote("importing into a projected store")
    let projected = try ProjectedStore.create(
        at: directory + "/receiver-projected.sqlite", deviceName: "laptop-new", key: receiverKey, trust: trust)
    let (projectedReport, projectedSeconds) = try timed {
        try BundleImport.import(from: encryptedPath, into: projected.store, key: receiverKey)
    }
    rows.append(Row(
        name: "import the encrypted bundle into a fresh joined ProjectedStore (verify + read models; `prolo sync import`)",
        events: projectedReport.new, seconds: projectedSeconds, note: describe(projectedReport)))
    progressNote("importing into a plain store")
    let plain = try EventStore.create(
        at: directory + "/receiver-plain.sqlite", deviceName: "laptop-new", key: receiverKey, trust: trust)
    let (plainReport, plainImportSeconds) = try timed {
        try BundleImport.import(from: encryptedPath, into: plain, key: receiverKey)
    }
    rows.append(Row(
        name: "import the encrypted bundle into a fresh joined plain EventStore (verify, no read models)",
        events: plainReport.new, seconds: plainImportSeconds, note: describe(plainReport)))
    progressNote("importing again")
    let (againReport, againSeconds) = try timed {
        try BundleImport.import(from: encryptedPath, into: projected.store, key: receiverKey)
    }
    rows.append(Row(
        name: "import it again into the ProjectedStore: all already present", events: againReport.alreadyPresent,
        seconds: againSeconds, note: describe(againReport)))
    let (againPlainReport, againPlainSeconds) = try timed {
        try BundleImport.import(from: plainPath, into: plain, key: receiverKey)
    }
    rows.append(Row(
        name: "import the unencrypted bundle into the plain EventStore: all already present",
        events: againPlainReport.alreadyPresent, seconds: againPlainSeconds, note: describe(againPlainReport)))
    let receiverVector = try projected.store.versionVector()
    let rootVector = try root.versionVector()
    let plainVector = try plain.versionVector()
    let converged = receiverVector == rootVector && plainVector == receiverVector

    // 4. An in-sync bundle of this clinic (cut against the receiver's vector): header and trailer only.
    let emptyPath = directory + "/in-sync.prolo"
    var cutOptions = BundleExport.Options(cutAgainst: receiverVector)
    cutOptions.recipient = encryptedOptions.recipient
    let (emptySummary, emptySeconds) = try timed {
        try BundleExport.export(from: root, signedBy: rootKey, to: emptyPath, options: cutOptions)
    }

    // 5. Export order: one device recording everything, its origin sorting after or before the root's.
    var orderRows: [Row] = []
    for deviceFirst in [false, true] {
        progressNote("order scenario, device first: \(deviceFirst)")
        let scenario = directory + "/order-\(deviceFirst)"
        try FileManager.default.createDirectory(atPath: scenario, withIntermediateDirectories: true)
        let orderRootKey = DeviceKey()
        let deviceKey = key(sorting: !deviceFirst, orderRootKey)
        let orderRoot = try makeClinic(
            at: scenario, events: options.orderEvents, patients: max(1, options.orderEvents / 100), devices: [deviceKey],
            rootKey: orderRootKey, batch: options.batch, seed: 11, rootRecords: false)
        let bundle = scenario + "/full.prolo"
        try BundleExport.export(from: orderRoot, signedBy: orderRootKey, to: bundle)
        let orderReceiverKey = DeviceKey()
        let receiver = try EventStore.create(
            at: scenario + "/receiver.sqlite", deviceName: "laptop-new", key: orderReceiverKey,
            trust: .joining(root: orderRootKey.publicKey, homePatient: nil))
        let (report, seconds) = try timed { try BundleImport.import(from: bundle, into: receiver, key: orderReceiverKey) }
        orderRows.append(Row(
            name: deviceFirst
                ? "device's origin sorts before the root's: its events wait in quarantine for the enrollment"
                : "device's origin sorts after the root's: the enrollment arrives first",
            events: report.new + report.admittedFromQuarantine, seconds: seconds, note: describe(report)))
    }

    // 6. The in-sync exchange with a vector of many origins.
    var generator = SeededGenerator(state: 5)
    var heads: [String: Int64] = [:]
    while heads.count < options.origins {
        heads[DeviceKey().publicKey.origin.text] = Int64.random(in: 1...200_000, using: &generator)
    }
    let vector = VersionVector(heads: heads)
    let vectorJSON = CanonicalJSON.encode(vector.jsonValue)
    let identity = root.identity
    let helloFields: [String: JSONValue] = [
        "storeId": .string(identity.storeID), "root": .string(identity.rootPublicKey.base64),
        "device": .string(identity.publicKey.base64), "scope": .string(SyncScope.full.description),
    ]
    var helloWithVector = helloFields
    helloWithVector["vector"] = vector.jsonValue
    let helloBytes = CanonicalJSON.encode(.object(helloWithVector)).count
    let emptyBatch = try SyncWire.encodeBatch([]).count
    let (digest, digestSeconds) = timed { SyncWire.digest(of: vector) }
    let digestRequest = CanonicalJSON.encode(.object(["vectorDigest": .string(digest)])).count
    let digestResponse = CanonicalJSON.encode(.object(["inSync": .bool(true), "vectorDigest": .string(digest)])).count
    let header = BundleHeader(
        clinicRoot: identity.rootPublicKey, sender: identity.publicKey, senderStoreID: identity.storeID,
        senderName: identity.deviceName, scope: .full, cutAgainst: vector, senderVector: vector, createdAt: .now())
    let (_, vectorSeconds) = try timed { try root.versionVector() }
    let compressedVector = try SyncWire.encodeBatch([vectorJSON]).count - 8 - 4

    print("## Sync benchmark")
    print("")
    print("Machine: \(machine()); date: \(Timestamp.now().text.prefix(10)); build: release.")
    print("Clinic: a root store with \(total) events over \(options.patients) patients, recorded by the root and "
        + "\(options.devices) enrolled devices in turn (batches of \(options.batch); devices' batches reach the root "
        + "through verify-and-append); built in \(format(setupSeconds, 1)) s. Mean stored body \(bodyBytes / max(1, total)) B, "
        + "mean wire record (envelope + body + signature) \(wireBytes / max(1, total)) B per event. Receivers "
        + "converged with the root: \(converged ? "yes" : "NO").")
    print("")
    print("| workload | events | events/s | bundle bytes/event | time | notes |")
    print("|---|---:|---:|---:|---:|---|")
    for row in rows {
        print("| \(row.name) | \(row.events) | \(format(Double(row.events) / row.seconds)) | "
            + "\(row.bytes.map { format(Double($0) / Double(max(1, row.events)), 1) } ?? "") | "
            + "\(format(row.seconds, 2)) s | \(row.note) |")
    }
    print("")
    print("Export order (\(options.orderEvents) events recorded by one enrolled device, imported into a fresh joined "
        + "plain EventStore; a full export goes origin by origin, sorted by origin id):")
    print("")
    print("| order | events stored | events/s | time | notes |")
    print("|---|---:|---:|---:|---|")
    for row in orderRows {
        print("| \(row.name) | \(row.events) | \(format(Double(row.events) / row.seconds)) | \(format(row.seconds, 2)) s "
            + "| \(row.note) |")
    }
    print("")
    print("In-sync exchange, version vector of \(vector.heads.count) origins (origin ids are 32 hex characters):")
    print("")
    print("| what | bytes |")
    print("|---|---:|")
    print("| version vector as canonical JSON | \(vectorJSON.count) (\(format(Double(vectorJSON.count) / Double(vector.heads.count), 1)) per origin) |")
    print("| the same, zlib-compressed (for comparison only; nothing sends it so) | \(compressedVector) |")
    print("| SyncHello as canonical JSON (storeId, root, device, scope, vector) | \(helloBytes) |")
    print("| empty last batch (`SyncWire.encodeBatch([])`) | \(emptyBatch) |")
    print("| **in sync, vector exchange as in SyncSession: hello + empty last batch, each way** | "
        + "**\(2 * (helloBytes + emptyBatch))** |")
    print("| in sync over HTTP: `POST /v1/sync/summary` body `{\"vectorDigest\"}` + response `{\"inSync\":true,…}` "
        + "(JSON bodies only, no HTTP headers) | \(digestRequest) + \(digestResponse) = \(digestRequest + digestResponse) |")
    print("| in sync by bundle: header with cutAgainst and senderVector of \(vector.heads.count) origins (canonical JSON, "
        + "before signature and framing) | \(header.bytes.count) |")
    print("| in sync by bundle, this clinic (\(receiverVector.heads.count) origins): whole encrypted file, "
        + "\(emptySummary.events) events | \(fileBytes(emptyPath)) (\(format(emptySeconds * 1000, 1)) ms to export) |")
    print("")
    print("| verifying a received event, one core (\(sample.count) of the root's events) | µs/event |")
    print("|---|---:|")
    for (name, time) in stages {
        print("| \(name) | \(format(time * 1e6 / Double(max(1, sample.count)), 1)) |")
    }
    let perEvent = stages.reduce(0) { $0 + $1.1 } / Double(max(1, sample.count))
    print("| total; ceiling on \(ProcessInfo.processInfo.activeProcessorCount) cores if nothing else ran | "
        + "\(format(perEvent * 1e6, 1)) µs = \(format(Double(ProcessInfo.processInfo.activeProcessorCount) / perEvent)) events/s |")
    print("")
    print("| cost of the in-sync check | time |")
    print("|---|---:|")
    print("| `versionVector()` of the root (\(total) events, \(options.devices + 1) origins) | \(format(vectorSeconds * 1000, 2)) ms |")
    print("| digest of the \(vector.heads.count)-origin vector (canonical JSON + SHA-256) | \(format(digestSeconds * 1000, 2)) ms |")
    print("| peak RSS of the whole run | \(format(peakRSSMegabytes())) MiB |")
}

func describe(_ report: SyncReport) -> String {
    var parts = ["\(report.new) new", "\(report.alreadyPresent) already present"]
    if report.quarantined > 0 { parts.append("\(report.quarantined) quarantined") }
    if report.admittedFromQuarantine > 0 { parts.append("\(report.admittedFromQuarantine) admitted from quarantine") }
    if report.forks > 0 { parts.append("\(report.forks) forks") }
    parts.append("\(report.batches) batches")
    return parts.joined(separator: ", ")
}

do {
    try run()
} catch {
    FileHandle.standardError.write(Data("prolo-bench-sync: \(error)\n".utf8))
    exit(70)
}
