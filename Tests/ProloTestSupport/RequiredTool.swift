import Foundation
import Testing

/// A program some tests need that a fresh machine may not have: chromium, the `sqlite3` shell, python3 and its
/// modules.
///
/// A helper asks for the tool where it uses it, with ``require(_:)``, and says what goes unchecked without it. When
/// the tool is missing the test is skipped and the reason is printed (`chromium not on PATH: the HTML report is not
/// rendered; install chromium or run .ci/run`); when `PROLO_REQUIRE_TOOLS=1` is set, as `.ci/run` does after
/// installing every tool, a missing tool fails the test instead. A test that needs the tool from its first line
/// carries the trait instead, `@Test("…", .requires(.chromium, "the HTML report is not rendered"))`, so it is
/// skipped before any setup (a suite can carry it too).
public struct RequiredTool: Sendable {
    /// The tool as messages name it: `chromium`, `sqlite3`, `python3 module jsonschema`.
    public let name: String
    /// The program to run, or nil when the machine lacks the tool (for Python modules: python3, if it imports them).
    public let path: String?
    /// Why the tool is missing, as the first words of a message: `chromium not on PATH`.
    private let absence: String
    /// How to get it: `install chromium`.
    private let remedy: String

    /// Whether the machine has the tool.
    public var isAvailable: Bool { path != nil }

    /// Whether a missing tool fails a test instead of skipping it: `PROLO_REQUIRE_TOOLS=1`, which `.ci/run` sets.
    public static var toolsAreRequired: Bool {
        ProcessInfo.processInfo.environment["PROLO_REQUIRE_TOOLS"] == "1"
    }

    /// Headless Chromium, which renders the audit report as a browser would.
    public static let chromium = RequiredTool(programs: ["chromium", "chromium-browser"], remedy: "install chromium")

    /// The `sqlite3` command-line shell: edits a store behind Prolo's back, as a tamperer with file access would.
    public static let sqlite3 = RequiredTool(programs: ["sqlite3"], remedy: "install the sqlite3 shell")

    /// python3 with its standard library only: the README tour, the reliability harness, a second JSON encoder.
    public static let python3 = RequiredTool(programs: ["python3"], remedy: "install python3")

    /// python3 with `jsonschema` and `rfc3339_validator`: a real JSON Schema validator for `Schemas/events`.
    public static let pythonJSONSchema = RequiredTool(
        pythonModules: ["jsonschema", "rfc3339_validator"], remedy: "pip install jsonschema rfc3339-validator")

    /// python3 with `cryptography`: verifies the published test vectors' Ed25519 signatures independently.
    public static let pythonCryptography = RequiredTool(
        pythonModules: ["cryptography"], remedy: "pip install cryptography")

    /// python3 with `yaml` (PyYAML): reads `Schemas/openapi.yaml` with a real YAML parser.
    public static let pythonYAML = RequiredTool(pythonModules: ["yaml"], remedy: "pip install pyyaml")

    /// python3 with `yaml` and `openapi_spec_validator`: validates `Schemas/openapi.yaml` as OpenAPI 3.1.
    public static let pythonOpenAPIValidator = RequiredTool(
        pythonModules: ["yaml", "openapi_spec_validator"], remedy: "pip install pyyaml openapi-spec-validator")

    /// python3 with `jsonschema` and `fhir.resources` (8.x, R4B models): the two FHIR validators of
    /// `Tools/fhir-validate.py`.
    public static let pythonFHIR = RequiredTool(
        pythonModules: ["jsonschema", "fhir.resources"], remedy: "pip install jsonschema 'fhir.resources>=8,<9'")

    /// The FHIR R4 JSON Schema, `Schemas/fhir/r4/fhir.schema.json.gz` (always in a checkout; kept as a requirement so
    /// that a damaged checkout says what is missing).
    public static let fhirSchema = RequiredTool(
        file: Fixtures.fhirSchemaPath, name: "the FHIR R4 JSON schema",
        remedy: "restore Schemas/fhir/r4/fhir.schema.json.gz from git")

    /// chromedriver (Debian's `chromium-driver`): lets `Tools/page-check.py` drive Chromium as a person would.
    public static let chromedriver = RequiredTool(programs: ["chromedriver"], remedy: "install chromium-driver")

    /// python3 with `selenium`: the WebDriver client of `Tools/page-check.py`.
    public static let pythonSelenium = RequiredTool(pythonModules: ["selenium"], remedy: "pip install selenium")

    /// A PostgreSQL cluster the tests may create and drop databases in, named by `PROLO_TEST_DATABASE_URL` (a
    /// superuser's URL; `eval "$(Tools/postgres-cluster.sh start)"` starts a throwaway one and sets it, as
    /// `.ci/run` does). ``path`` is the URL.
    public static let postgres = RequiredTool(
        environment: "PROLO_TEST_DATABASE_URL", name: "PostgreSQL",
        remedy: "start a throwaway cluster with eval \"$(Tools/postgres-cluster.sh start)\"")

    /// PostgreSQL 15's server programs (initdb, pg_ctl, pg_basebackup; Debian's `postgresql-15`): the failover tests
    /// start a primary and a standby of their own with `Tools/postgres-cluster.sh`.
    public static let postgresServer = RequiredTool(
        file: "/usr/lib/postgresql/15/bin/pg_basebackup", name: "PostgreSQL 15's server programs",
        remedy: "install postgresql-15")

    /// Why a test that needs the tool does not run, naming what goes unchecked:
    /// `chromium not on PATH: the HTML report is not rendered; install chromium or run .ci/run`.
    public func reason(_ unchecked: String) -> String {
        "\(absence): \(unchecked); \(remedy) or run .ci/run"
    }

    /// The tool's path. When the tool is missing, ends the running test without a failure (Swift Testing prints
    /// that it `was cancelled`, with ``reason(_:)``), or, under `PROLO_REQUIRE_TOOLS=1`, throws that reason so the
    /// test fails. Call it outside `try?` and `#expect(throws:)`, which would swallow the cancellation.
    @discardableResult
    public func require(_ unchecked: String) throws -> String {
        if let path { return path }
        if Self.toolsAreRequired {
            throw RequiredToolMissing(requiring: reason(unchecked))
        }
        try Test.cancel(Comment(rawValue: reason(unchecked)))
    }

    /// The first of `programs` found on `PATH`.
    private init(programs: [String], remedy: String) {
        name = programs[0]
        path = programs.lazy.compactMap(Self.executableOnPath).first
        absence = "\(programs[0]) not on PATH"
        self.remedy = remedy
    }

    /// A file some tests read, when it is there.
    private init(file: String, name: String, remedy: String) {
        self.name = name
        path = FileManager.default.fileExists(atPath: file) ? file : nil
        absence = "\(name) is not at \(file)"
        self.remedy = remedy
    }

    /// A service named by an environment variable's value.
    private init(environment variable: String, name: String, remedy: String) {
        self.name = name
        let value = ProcessInfo.processInfo.environment[variable] ?? ""
        path = value.isEmpty ? nil : value
        absence = "\(variable) is not set (no \(name) to reach)"
        self.remedy = remedy
    }

    /// python3, when it imports every one of `modules`.
    private init(pythonModules modules: [String], remedy: String) {
        let list = modules.joined(separator: ", ")
        name = "python3 module\(modules.count == 1 ? "" : "s") \(list)"
        if let python = Self.python3.path {
            path = Self.imports(modules, python: python) ? python : nil
            absence = "python3 cannot import \(list)"
        } else {
            path = nil
            absence = "python3 not on PATH (needed with \(list))"
        }
        self.remedy = remedy
    }

    /// An executable named `name` in a directory of `PATH`, or nil; no other directory is searched, so a `PATH`
    /// without the tool is a machine without it.
    private static func executableOnPath(_ name: String) -> String? {
        let directories = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":")
        for directory in directories {
            let candidate = (String(directory) as NSString).appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// Whether `python -c "import MODULES"` exits 0.
    private static func imports(_ modules: [String], python: String) -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["-c", "import " + modules.joined(separator: ", ")]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }
}

/// A tool a test needs is missing while `PROLO_REQUIRE_TOOLS=1` says every tool must be there.
public struct RequiredToolMissing: Error, CustomStringConvertible {
    /// The reason, as ``RequiredTool/reason(_:)`` words it, and that the tool is required here.
    public let description: String

    init(requiring reason: String) {
        description = "\(reason) (PROLO_REQUIRE_TOOLS=1: every tool is required)"
    }
}

extension Trait where Self == ConditionTrait {
    /// Runs the test (or every test of the suite) only when `tool` is on the machine; otherwise skips it with
    /// ``RequiredTool/reason(_:)``, or, under `PROLO_REQUIRE_TOOLS=1`, fails it with that reason.
    public static func requires(
        _ tool: RequiredTool, _ unchecked: String, sourceLocation: SourceLocation = #_sourceLocation
    ) -> Self {
        let reason = tool.reason(unchecked)
        return .enabled(
            if: try {
                if tool.isAvailable { return true }
                if RequiredTool.toolsAreRequired { throw RequiredToolMissing(requiring: reason) }
                return false
            }(),
            Comment(rawValue: reason), sourceLocation: sourceLocation)
    }
}
