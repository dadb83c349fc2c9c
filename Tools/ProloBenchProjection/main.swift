// prolo-bench-projection: the treatment projection benchmark. Run through Tools/bench-projection.sh (release build).
//
// Workloads: record N events of a clinical mix over P patients into a ProjectedStore in batches of 1000 (the read
// models are kept current in every append transaction, as in use); `rebuild()` over the whole log (events/s, the
// RSS before it and its own peak); then the projection's incremental cost per append: the same events through a
// plain EventStore and through a ProjectedStore, one commit each and in batches of 100, on fresh stores (short
// patient histories) and on the loaded store (long ones). Prints a Markdown table.
//
// The clinical mix (`PatientStory`) is copied in Tools/ProloBenchSync/main.swift; keep the two in step.
import Foundation
import ProloDomain
import ProloProjections
import ProloStore

struct Options {
    var events = 1_000_000
    var patients = 10_000
    var batch = 1_000
    var singles = 2_000
    var batched = 20_000
    var appendBatch = 100
    var directory = NSTemporaryDirectory() + "prolo-bench-projection-\(getpid())"

    init(arguments: [String]) {
        var iterator = arguments.dropFirst().makeIterator()
        while let argument = iterator.next() {
            let text = iterator.next()
            let value = text.flatMap { Int($0.replacingOccurrences(of: "_", with: "")) }
            switch argument {
            case "--events": events = value ?? events
            case "--patients": patients = value ?? patients
            case "--batch": batch = value ?? batch
            case "--singles": singles = value ?? singles
            case "--batched": batched = value ?? batched
            case "--append-batch": appendBatch = value ?? appendBatch
            case "--dir": directory = (text ?? directory) + "/prolo-bench-projection-\(getpid())"
            default:
                FileHandle.standardError.write(
                    Data(
                        ("usage: prolo-bench-projection [--events N] [--patients N] [--batch N] [--singles N] "
                            + "[--batched N] [--append-batch N] [--dir DIR]\n").utf8))
                exit(64)
            }
        }
        patients = max(1, min(patients, events))
        batch = max(1, batch)
        appendBatch = max(1, appendBatch)
    }
}

// MARK: The clinical mix

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

/// A field of /proc/self/status in MiB (`VmHWM`: peak resident set; `VmRSS`: current).
func statusMegabytes(_ field: String) -> Double {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
        let line = status.split(separator: "\n").first(where: { $0.hasPrefix(field + ":") })
    else { return 0 }
    let kilobytes = Double(line.split(separator: " ").dropFirst().first.map(String.init) ?? "0") ?? 0
    return kilobytes / 1024
}

/// Resets VmHWM to the current RSS (Linux ≥ 4.0: `echo 5 > /proc/self/clear_refs`); false where not allowed.
func resetPeakRSS() -> Bool {
    guard let handle = FileHandle(forWritingAtPath: "/proc/self/clear_refs") else { return false }
    defer { try? handle.close() }
    do {
        try handle.write(contentsOf: Data("5".utf8))
        return true
    } catch {
        return false
    }
}

func machine() -> String {
    let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
    let model = cpuinfo.split(separator: "\n").first { $0.hasPrefix("model name") }?.split(separator: ":").last?
        .trimmingCharacters(in: .whitespaces) ?? "unknown CPU"
    return "\(ProcessInfo.processInfo.activeProcessorCount) cores, \(model)"
}

func fileMegabytes(_ path: String) -> Double {
    let size = [path, path + "-wal"].reduce(0) { total, file in
        total + ((try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0)
    }
    return Double(size) / 1_048_576
}

func format(_ value: Double, _ digits: Int = 0) -> String { String(format: "%.\(digits)f", value) }

let processStart = now()

func progressNote(_ text: String) {
    FileHandle.standardError.write(Data("prolo-bench-projection [\(format(seconds(since: processStart), 1)) s]: \(text)\n".utf8))
}

/// Plain against projected appends of the same events: `projected` records each chunk live (so the story's
/// references are real ids there), then `plain` records the very same drafts; chunks alternate so that the
/// machine's noise falls on both. `openProjected` and `openPlain` are called once per chunk and their store is
/// released at the chunk's end, so two connections to one file are never open at once (see BENCHMARKS.md:
/// a second connection's writes fail on the first one's stale read snapshot). Returns the seconds spent inside
/// `record` for each.
func compareAppends(
    events: Int, perCommit: Int, chunks: Int, clinic: inout Clinic, patients: Range<Int>,
    openProjected: () throws -> EventStore, openPlain: () throws -> EventStore, key: DeviceKey
) throws -> (plain: Double, projected: Double, events: Int) {
    var plainSeconds = 0.0
    var projectedSeconds = 0.0
    var cursor = 0
    var done = 0
    let perChunk = max(perCommit, (events + chunks - 1) / chunks)
    while done < events {
        var chunkDrafts: [[EventDraft]] = []
        var chunkDone = 0
        do {
            let projected = try openProjected()
            while chunkDone < perChunk, done + chunkDone < events {
                let count = min(perCommit, events - done - chunkDone, patients.count)
                let indices = (0..<count).map { patients.lowerBound + (cursor + $0) % patients.count }
                cursor = (cursor + count) % patients.count
                let drafts = try clinic.drafts(for: indices)
                let start = now()
                let stored = try projected.record(drafts, signedBy: key)
                projectedSeconds += seconds(since: start)
                clinic.recorded(stored, for: indices)
                chunkDrafts.append(drafts)
                chunkDone += count
            }
        }
        do {
            let plain = try openPlain()
            for drafts in chunkDrafts {
                let start = now()
                try plain.record(drafts, signedBy: key)
                plainSeconds += seconds(since: start)
            }
        }
        done += chunkDone
    }
    return (plainSeconds, projectedSeconds, done)
}

// MARK: The run

func run() throws {
    let options = Options(arguments: CommandLine.arguments)
    try FileManager.default.createDirectory(atPath: options.directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: options.directory) }
    var rows: [(String, String, String, String)] = []

    // 1. Load: the clinical mix, one event per patient per round (as a clinic's days go), in batches.
    let key = DeviceKey()
    let loadedPath = options.directory + "/loaded.sqlite"
    var projected: ProjectedStore? = try ProjectedStore.create(at: loadedPath, deviceName: "bench", key: key)
    var clinic = try Clinic(patients: options.patients, seed: 42)
    var mix: [EventType: Int] = [:]
    var recordSeconds = 0.0
    var draftSeconds = 0.0
    var loaded = 0
    var roundRates: [(events: Int, seconds: Double)] = []
    let loadStart = now()
    while loaded < options.events {
        let round = min(options.patients, options.events - loaded)
        var start = 0
        let roundStart = recordSeconds
        while start < round {
            let indices = start..<min(round, start + options.batch)
            let draftStart = now()
            let drafts = try clinic.drafts(for: indices)
            draftSeconds += seconds(since: draftStart)
            for draft in drafts { mix[draft.type, default: 0] += 1 }
            let recordStart = now()
            let stored = try projected!.store.record(drafts, signedBy: key)
            recordSeconds += seconds(since: recordStart)
            clinic.recorded(stored, for: indices)
            start = indices.upperBound
        }
        loaded += round
        roundRates.append((round, recordSeconds - roundStart))
        if loaded % 100_000 < options.patients || loaded == options.events {
            progressNote(
                "loaded \(loaded) events (\(format(Double(loaded) / max(recordSeconds, 1e-9))) events/s in record)")
        }
    }
    let loadWall = seconds(since: loadStart)
    rows.append((
        "load: record() in batches of \(options.batch) into a ProjectedStore (compress, sign, insert, read models)",
        "\(loaded)", format(Double(loaded) / recordSeconds),
        "\(format(recordSeconds, 1)) s (+ \(format(draftSeconds, 1)) s drafting; wall \(format(loadWall, 1)) s)"))
    let tenth = max(1, roundRates.count / 10)
    func rate(_ rounds: ArraySlice<(events: Int, seconds: Double)>) -> String {
        format(Double(rounds.reduce(0) { $0 + $1.events }) / max(1e-9, rounds.reduce(0) { $0 + $1.seconds }))
    }
    rows.append((
        "load, first tenth of the rounds (~\(tenth / 2) events per patient held) / last tenth "
            + "(~\(options.events / options.patients - tenth / 2))", "",
        "\(rate(roundRates.prefix(tenth))) / \(rate(roundRates.suffix(tenth)))", ""))
    let afterLoadPeak = statusMegabytes("VmHWM")
    let fileAfterLoad = fileMegabytes(loadedPath)
    let walAfterLoad = fileMegabytes(loadedPath + "-wal")

    // 2. Rebuild.
    let rssBefore = statusMegabytes("VmRSS")
    let peakReset = resetPeakRSS()
    var progressCalls = 0
    var folded = 0
    progressNote("rebuilding")
    let rebuildStart = now()
    try projected!.rebuild { done, _ in
        progressCalls += 1
        folded = done
    }
    let rebuildSeconds = seconds(since: rebuildStart)
    let rebuildPeak = statusMegabytes("VmHWM")
    let rssAfter = statusMegabytes("VmRSS")
    rows.append((
        "rebuild(): empty the read models, refold every patient (one transaction)", "\(folded)",
        format(Double(folded) / rebuildSeconds), "\(format(rebuildSeconds, 1)) s"))
    let patientRows = try projected!.patients().count

    // 3. Incremental cost per append on the loaded store: the same file, opened with and without the projection.
    let walAfterRebuild = fileMegabytes(loadedPath + "-wal")
    projected = nil
    var appendRows: [(String, Double, Double, Int)] = []
    do {
        progressNote("appends on the loaded store")
        let openProjected = { () throws -> EventStore in try ProjectedStore.open(at: loadedPath).store }
        let openPlain = { () throws -> EventStore in try EventStore.open(at: loadedPath) }
        let singles = try compareAppends(
            events: options.singles, perCommit: 1, chunks: 8, clinic: &clinic, patients: 0..<options.patients,
            openProjected: openProjected, openPlain: openPlain, key: key)
        appendRows.append((
            "one commit each, loaded store (~\(options.events / options.patients) events per patient)", singles.plain,
            singles.projected, singles.events))
        let batched = try compareAppends(
            events: options.batched, perCommit: options.appendBatch, chunks: 8, clinic: &clinic,
            patients: 0..<options.patients, openProjected: openProjected, openPlain: openPlain, key: key)
        appendRows.append((
            "batches of \(options.appendBatch) (distinct patients), loaded store", batched.plain, batched.projected,
            batched.events))
    }

    // 4. The same on fresh stores: new patients, about ten events each by the end.
    do {
        let freshKey = DeviceKey()
        let freshProjected = try ProjectedStore.create(
            at: options.directory + "/fresh-projected.sqlite", deviceName: "bench", key: freshKey)
        let freshPlain = try EventStore.create(
            at: options.directory + "/fresh-plain.sqlite", deviceName: "bench", key: freshKey)
        let freshPatients = max(options.appendBatch, options.singles / 10)
        var freshClinic = try Clinic(patients: freshPatients, seed: 7, firstNumber: options.patients)
        progressNote("appends on fresh stores")
        let singles = try compareAppends(
            events: options.singles, perCommit: 1, chunks: 8, clinic: &freshClinic, patients: 0..<freshPatients,
            openProjected: { freshProjected.store }, openPlain: { freshPlain }, key: freshKey)
        appendRows.insert(
            ("one commit each, fresh stores (\(freshPatients) patients)", singles.plain, singles.projected, singles.events),
            at: 0)
        let batchedPatients = max(options.appendBatch, options.batched / 10)
        var batchedClinic = try Clinic(patients: batchedPatients, seed: 9, firstNumber: options.patients + freshPatients)
        let batched = try compareAppends(
            events: options.batched, perCommit: options.appendBatch, chunks: 8, clinic: &batchedClinic,
            patients: 0..<batchedPatients, openProjected: { freshProjected.store }, openPlain: { freshPlain }, key: freshKey)
        appendRows.insert(
            ("batches of \(options.appendBatch) (distinct patients), fresh stores", batched.plain, batched.projected,
                batched.events), at: 2)
    }

    print("## Projection benchmark")
    print("")
    print("Machine: \(machine()); date: \(Timestamp.now().text.prefix(10)); build: release.")
    print("Workload: \(loaded) events over \(options.patients) patients (\(patientRows) with read-model rows), one "
        + "device; event mix:")
    print(
        mix.sorted { $0.value > $1.value }.map { "\($0.key.rawValue) \(format(100 * Double($0.value) / Double(max(1, loaded)), 1)) %" }
            .joined(separator: ", ") + ".")
    print("")
    print("| workload | events | events/s | time |")
    print("|---|---:|---:|---:|")
    for row in rows { print("| \(row.0) | \(row.1) | \(row.2) | \(row.3) |") }
    print("")
    print("| memory and size | value |")
    print("|---|---:|")
    print("| store file after loading (with WAL) | \(format(fileAfterLoad)) MiB |")
    print("| of which WAL after loading / after rebuild | \(format(walAfterLoad)) / \(format(walAfterRebuild)) MiB |")
    print("| peak RSS after loading (VmHWM) | \(format(afterLoadPeak)) MiB |")
    print("| RSS before rebuild (VmRSS) | \(format(rssBefore)) MiB |")
    if peakReset {
        print("| peak RSS during rebuild (VmHWM, reset before it) | \(format(rebuildPeak)) MiB |")
        print("| rebuild's own growth (peak − before) | \(format(rebuildPeak - rssBefore)) MiB |")
    } else {
        print("| peak RSS of the process by the end of rebuild (VmHWM could not be reset) | \(format(rebuildPeak)) MiB |")
    }
    print("| RSS after rebuild (VmRSS) | \(format(rssAfter)) MiB |")
    print("| rebuild progress callbacks | \(progressCalls) |")
    print("")
    print("| append: same events, plain EventStore vs ProjectedStore | events | plain µs/event | projected µs/event "
        + "| projection's cost µs/event | projected ÷ plain |")
    print("|---|---:|---:|---:|---:|---:|")
    for (name, plain, projectedTime, count) in appendRows {
        let plainMicro = plain * 1e6 / Double(count)
        let projectedMicro = projectedTime * 1e6 / Double(count)
        print("| \(name) | \(count) | \(format(plainMicro, 1)) | \(format(projectedMicro, 1)) | "
            + "\(format(projectedMicro - plainMicro, 1)) | \(format(projectedMicro / plainMicro, 2)) |")
    }
}


do {
    try run()
} catch {
    FileHandle.standardError.write(Data("prolo-bench-projection: \(error)\n".utf8))
    exit(70)
}
