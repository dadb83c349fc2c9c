// The seeded clinical mix every benchmark records, so their figures describe the same workload.
import Foundation
public import ProloDomain
public import ProloStore

/// SplitMix64: a small seeded generator, so every run records the same mix.
public struct SeededGenerator: RandomNumberGenerator {
    public var state: UInt64

    public init(state: UInt64) { self.state = state }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    public mutating func chance(_ percent: Double) -> Bool { Double.random(in: 0..<100, using: &self) < percent }
}

/// The catalog examples as JSON objects, to be varied per patient.
public struct Templates: Sendable {
    public let members: [EventType: [String: JSONValue]]

    public init() throws {
        var members: [EventType: [String: JSONValue]] = [:]
        for payload in CatalogExamples.all {
            members[type(of: payload).eventType] = try PayloadCodec.encodeValue(payload).objectValue ?? [:]
        }
        self.members = members
    }

    public subscript(type: EventType) -> [String: JSONValue] { members[type] ?? [:] }
}

/// One patient's treatment story, told one event at a time: registration, consent, exam and a planned course;
/// then per session a booking (sometimes cancelled and rebooked, or booked twice and the duplicate retracted),
/// the injection, sometimes a side effect (rarely a fever that raises and clears a possible-infection alert) and
/// its resolution, pain reports (sometimes amended) and adjunct therapy; a follow-up exam and the course's close;
/// after a pause, another course. Events refer to the real ids of the patient's earlier events, so each one must
/// be recorded (``recorded(_:)``) before the next is drafted.
public struct PatientStory {
    public enum Step: String, CaseIterable {
        case register, consent, exam, plan, schedule, duplicate, retract, cancel, inject, sideEffect, fever, clear
        case resolve, pain, amend, adjunct, followUp, close
    }

    public static let dayMs: Int64 = 86_400_000
    /// Where stories begin unless told otherwise (2026-05-28): each story starts within the year after it. Fixed, so
    /// every run records the same mix; a workload that mixes the stories with events recorded now (the HTTP load's
    /// home devices) passes ``epoch(endingBefore:eventsPerPatient:)`` instead.
    public static let defaultEpoch: Int64 = 1_780_000_000_000

    /// An epoch, on a day boundary, early enough that stories of `eventsPerPatient` events starting within the year
    /// after it all end before `now` (each step is at most 3 days): a clinic's history, with today's reports after it.
    public static func epoch(endingBefore now: Timestamp, eventsPerPatient: Int) -> Int64 {
        let today = now.millisecondsSinceEpoch / dayMs * dayMs
        return today - 365 * dayMs - Int64(eventsPerPatient + 1) * 3 * dayMs
    }
    public static let clinician = Author(id: "prac-0012", role: .clinician)
    public static let givenNames = ["Maren", "Johan", "Aino", "Lars", "Ingrid", "Mikael", "Sofia", "Erik", "Noor", "Tomas"]
    public static let familyNames = ["Lindqvist", "Berg", "Nieminen", "Dahl", "Holm", "Sandberg", "Virtanen", "Ek", "Ali", "Strand"]

    public let patient: PatientID
    public let number: Int
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

    public init(number: Int, epoch: Int64 = Self.defaultEpoch, generator: inout SeededGenerator) throws {
        self.number = number
        patient = try PatientID(checked: String(format: "p-%05d", number))
        time = epoch + Int64.random(in: 0..<(365 * Self.dayMs), using: &generator)
        nrs = Int.random(in: 5...9, using: &generator)
        odi = Int.random(in: 25...60, using: &generator)
        baselineNRS = nrs
    }

    /// Drafts the patient's next event.
    public mutating func next(_ templates: Templates, _ generator: inout SeededGenerator) throws -> EventDraft {
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
    public mutating func recorded(_ id: EventID) {
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
public struct Clinic {
    public let templates: Templates
    public var generator: SeededGenerator
    public var stories: [PatientStory]

    /// `patients` stories numbered from `firstNumber`, each starting within the year after `epoch`.
    public init(patients: Int, seed: UInt64, firstNumber: Int = 0, epoch: Int64 = PatientStory.defaultEpoch) throws {
        templates = try Templates()
        generator = SeededGenerator(state: seed)
        var stories: [PatientStory] = []
        stories.reserveCapacity(patients)
        for number in firstNumber..<(firstNumber + patients) {
            stories.append(try PatientStory(number: number, epoch: epoch, generator: &generator))
        }
        self.stories = stories
    }

    /// The next event of each of `indices` (distinct patients).
    public mutating func drafts(for indices: some Sequence<Int>) throws -> [EventDraft] {
        try indices.map { index in try stories[index].next(templates, &generator) }
    }

    /// Tells the stories of `indices` the ids their last drafts got.
    public mutating func recorded(_ stored: [StoredEvent], for indices: some Sequence<Int>) {
        for (index, event) in zip(indices, stored) { stories[index].recorded(event.event.id) }
    }
}

/// Records `events` events of the clinical mix over `patients` patients into `store`, one event per patient per
/// round, in batches of `batch`; returns the seconds spent in `record` and in drafting. The store the audit and
/// PostgreSQL benchmarks read.
public func loadClinicalMix(into store: EventStore, key: DeviceKey, events: Int, patients: Int, batch: Int) throws
    -> (record: Double, draft: Double)
{
    var clinic = try Clinic(patients: patients, seed: 42)
    var recordSeconds = 0.0
    var draftSeconds = 0.0
    var loaded = 0
    while loaded < events {
        let round = min(patients, events - loaded)
        var start = 0
        while start < round {
            let indices = start..<min(round, start + batch)
            let (drafts, draftTime) = try timed { try clinic.drafts(for: indices) }
            let (stored, recordTime) = try timed { try store.record(drafts, signedBy: key) }
            draftSeconds += draftTime
            recordSeconds += recordTime
            clinic.recorded(stored, for: indices)
            start = indices.upperBound
        }
        loaded += round
        if loaded % 100_000 < patients || loaded == events {
            BenchProgress.note("loaded \(loaded) events (\(format(Double(loaded) / max(recordSeconds, 1e-9))) events/s in record)")
        }
    }
    return (recordSeconds, draftSeconds)
}
