import Foundation
import ProloTestSupport
import Testing

@testable import ProloDomain

/// The event catalog: Swift payload types, their examples, and the JSON Schemas in `Schemas/` agree.
///
/// Set `PROLO_UPDATE_SCHEMA_EXAMPLES=1` to rewrite `Schemas/examples/<type>.json` from ``CatalogExamples``
/// instead of comparing them.
@Suite("Event catalog")
struct CatalogTests {
    /// The repository root: three levels up from `Tests/ProloDomainTests/CatalogTests.swift`.
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let examplesFolder = root.appendingPathComponent("Schemas/examples")
    static let invalidFolder = examplesFolder.appendingPathComponent("invalid")


    /// The names of the invalid payload files, for parameterized tests.
    static func invalidCaseNames() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: invalidFolder.path)) ?? []
        return names.filter { $0.hasSuffix(".json") }.sorted()
    }

    static func exampleValue(of type: EventType) throws -> JSONValue {
        try PayloadCodec.encodeValue(CatalogExamples.example(of: type))
    }

    @Test(
        "every event type has exactly one example, and its payload type belongs to that event type",
        arguments: EventType.allCases)
    func everyTypeHasAnExample(type: EventType) {
        let matching = CatalogExamples.all.filter { Swift.type(of: $0).eventType == type }
        #expect(matching.count == 1)
        #expect(type.payloadType.eventType == type)
        #expect(
            ObjectIdentifier(Swift.type(of: CatalogExamples.example(of: type))) == ObjectIdentifier(type.payloadType))
        #expect(CatalogExamples.all.count == EventType.allCases.count)
    }

    @Test("every example survives canonical encoding and strict decoding unchanged", arguments: EventType.allCases)
    func examplesRoundTrip(type: EventType) throws {
        let example = CatalogExamples.example(of: type)
        let bytes = try PayloadCodec.canonicalBytes(of: example)
        let decoded = try type.decodePayload(from: bytes)
        let equal = Self.isEqual(example, decoded)
        let bytesAgain = try PayloadCodec.canonicalBytes(of: decoded)
        #expect(equal)
        #expect(bytesAgain == bytes)
    }

    @Test("the committed Schemas/examples/<type>.json is exactly the Swift example", arguments: EventType.allCases)
    func committedExamplesMatchSwift(type: EventType) throws {
        let file = Self.examplesFolder.appendingPathComponent("\(type.rawValue).json")
        let expected = try Self.exampleValue(of: type)
        if ProcessInfo.processInfo.environment["PROLO_UPDATE_SCHEMA_EXAMPLES"] == "1" {
            try Data(Self.prettyJSON(expected).utf8).write(to: file)
        }
        let committed = try JSONParser.parse(try Data(contentsOf: file))
        #expect(
            committed == expected,
            "\(file.path) differs from CatalogExamples; rerun with PROLO_UPDATE_SCHEMA_EXAMPLES=1")
    }

    @Test(
        "a real JSON Schema validator accepts the Swift-encoded examples and rejects every invalid case",
        .requires(.pythonJSONSchema, "the Swift-encoded examples are not checked by a real JSON Schema validator"))
    func jsonSchemaValidatorAcceptsSwiftExamples() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("prolo-catalog-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        for type in EventType.allCases {
            let value = try Self.exampleValue(of: type)
            try Data(Self.prettyJSON(value).utf8).write(to: folder.appendingPathComponent("\(type.rawValue).json"))
        }

        let process = Process()
        process.executableURL = URL(fileURLWithPath: try #require(RequiredTool.pythonJSONSchema.path))
        process.arguments = [Self.root.appendingPathComponent("Tools/check-schemas.py").path, "--examples", folder.path]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()

        #expect(process.terminationStatus == 0, "check-schemas.py failed:\n\(text)")
        let summary = text.split(separator: "\n").last.map(String.init) ?? ""
        #expect(summary.hasSuffix(" passed, 0 failed"), "unexpected summary: \(summary)")
    }

    @Test("there are at least 30 invalid payload cases")
    func enoughInvalidCases() {
        #expect(Self.invalidCaseNames().count >= 30)
    }

    @Test("Swift refuses every invalid payload and names the field the case expects", arguments: invalidCaseNames())
    func invalidPayloadsAreRefused(name: String) throws {
        let document = try JSONParser.parse(try Data(contentsOf: Self.invalidFolder.appendingPathComponent(name)))
        let typeName = try #require(document["type"]?.stringValue)
        let expectPath = try #require(document["expectPath"]?.stringValue)
        let payload = try #require(document["payload"])
        #expect(name.hasPrefix("\(typeName)--"))

        let type = try EventType(checked: typeName)
        let error = #expect(throws: PayloadError.self) {
            try type.decodePayload(from: CanonicalJSON.encode(payload))
        }
        #expect(error?.code == .schemaViolation)
        #expect(error?.path == expectPath, "\(name): \(error?.description ?? "no error")")
    }

    @Test("rules a JSON Schema cannot express are enforced by the Swift types")
    func crossFieldRules() throws {
        var plan = try Self.exampleValue(of: .coursePlanned).objectValue ?? [:]
        plan["interval"] = .object(["minWeeks": .int(5), "maxWeeks": .int(3)])
        let intervalError = #expect(throws: PayloadError.self) {
            try EventType.coursePlanned.decodePayload(from: CanonicalJSON.encode(.object(plan)))
        }
        #expect(intervalError?.path == "$.interval.maxWeeks")

        var amendment = try Self.exampleValue(of: .eventAmended).objectValue ?? [:]
        var corrected = amendment["payload"]?.objectValue ?? [:]
        corrected["score"] = .int(11)
        amendment["payload"] = .object(corrected)
        let amendedError = #expect(throws: PayloadError.self) {
            try EventType.eventAmended.decodePayload(from: CanonicalJSON.encode(.object(amendment)))
        }
        #expect(amendedError?.path == "$.payload.score")

        corrected["score"] = .int(4)
        corrected["mood"] = .string("better")
        amendment["payload"] = .object(corrected)
        let unknownFieldError = #expect(throws: PayloadError.self) {
            try EventType.eventAmended.decodePayload(from: CanonicalJSON.encode(.object(amendment)))
        }
        #expect(unknownFieldError?.path == "$.payload.mood")
    }

    @Test("the example story holds the facts the catalog is specified with")
    func storyFacts() throws {
        let exam = CatalogExamples.examRecorded
        #expect(CatalogExamples.patient == "p-0001")
        #expect(exam.painNRS.value == 7)
        #expect(exam.odi.value == 42)
        #expect(exam.provocationTests.contains { $0.test == .thighThrust && $0.result == .positive })
        #expect(exam.provocationTests.contains { $0.test == .gaenslenLeft && $0.result == .positive })
        #expect(exam.palpation.contains { $0.ligament == .iliolumbar && $0.tenderness.value >= 2 })
        #expect(exam.decision.candidate)

        let course = CatalogExamples.coursePlanned
        #expect(course.sessions.value == 6)
        #expect(course.interval.minWeeks.value == 2 && course.interval.maxWeeks.value == 4)
        #expect(Set(course.adjunctTherapies) == [.exercise, .spinalManipulation])

        let injection = CatalogExamples.injectionAdministered
        #expect(injection.proliferant.dextroseMgPerMl.value == 150)
        #expect(injection.proliferant.lidocaineMgPerMl?.value == 2)
        #expect(injection.sites.count == 4)

        let sideEffect = CatalogExamples.sideEffectReported
        #expect(sideEffect.temperatureC?.value == 38.6)
        #expect(sideEffect.kinds.contains(.fever) && sideEffect.kinds.contains(.intensePain))
        #expect(sideEffect.grade.value == 3)
        #expect(sideEffect.reporter.role == .patient)
        #expect(sideEffect.relatedInjection == CatalogExamples.injectionEventID)

        #expect(CatalogExamples.sideEffectResolved.report == CatalogExamples.sideEffectEventID)
        #expect(CatalogExamples.alertCleared.raisedBy == [CatalogExamples.sideEffectEventID])
        #expect(CatalogExamples.courseClosed.course == CatalogExamples.courseEventID)
        #expect(CatalogExamples.deviceEnrolled.patient == CatalogExamples.patient)
        let corrected = try #require(try CatalogExamples.eventAmended.correctedPayload() as? PainReported)
        #expect(corrected.score == 4)

        for time in [sideEffect.onset, CatalogExamples.sessionScheduled.appointmentAt] {
            #expect(time.text.hasPrefix("2026-"))
            #expect(time.day.month >= 9)
        }
    }

    // MARK: - Helpers

    static func isEqual<Payload: EventPayload>(_ payload: Payload, _ other: any EventPayload) -> Bool {
        (other as? Payload) == payload
    }

    /// JSON with 2-space indentation and sorted keys, as Python's `json.dumps(value, indent=2, sort_keys=True,
    /// ensure_ascii=False)`, plus a final newline.
    static func prettyJSON(_ value: JSONValue) -> String {
        var text = ""
        writePretty(value, indent: "", into: &text)
        return text + "\n"
    }

    private static func writePretty(_ value: JSONValue, indent: String, into text: inout String) {
        let inner = indent + "  "
        switch value {
        case .array(let elements) where !elements.isEmpty:
            text += "[\n"
            for (position, element) in elements.enumerated() {
                text += inner
                writePretty(element, indent: inner, into: &text)
                text += position == elements.count - 1 ? "\n" : ",\n"
            }
            text += indent + "]"
        case .object(let members) where !members.isEmpty:
            text += "{\n"
            let sorted = members.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
            for (position, member) in sorted.enumerated() {
                text += inner + String(decoding: CanonicalJSON.encode(.string(member.key)), as: UTF8.self) + ": "
                writePretty(member.value, indent: inner, into: &text)
                text += position == sorted.count - 1 ? "\n" : ",\n"
            }
            text += indent + "}"
        default:
            text += String(decoding: CanonicalJSON.encode(value), as: UTF8.self)
        }
    }
}
