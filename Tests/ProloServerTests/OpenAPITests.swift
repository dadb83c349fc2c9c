import Foundation
import Logging
import ProloDomain
import ProloProjections
import ProloServer
import ProloTestSupport
import Testing

/// Schemas/openapi.yaml against the router, and against the OpenAPI schema.
@Suite("The OpenAPI document")
struct OpenAPITests {
    static let documentPath = Fixtures.repositoryRoot + "/Schemas/openapi.yaml"
    private static let methods: Set<String> = ["get", "put", "post", "delete", "options", "head", "patch", "trace"]

    /// The documented operations as `METHOD /path`, read line by line: the keys under the top-level `paths:`
    /// (two spaces in, starting with `/`) and the HTTP methods under each (four spaces in).
    static func documentedOperations(_ text: String) -> Set<String> {
        var operations: Set<String> = []
        var inPaths = false
        var path: String?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            if line.trimmingCharacters(in: .whitespaces).isEmpty
                || line.trimmingCharacters(in: .whitespaces).hasPrefix("#")
            {
                continue
            }
            let indent = line.prefix { $0 == " " }.count
            let key = line.trimmingCharacters(in: .whitespaces)
            if indent == 0 {
                inPaths = key == "paths:"
                path = nil
                continue
            }
            guard inPaths else { continue }
            if indent == 2, key.hasPrefix("/"), key.hasSuffix(":") {
                path = String(key.dropLast()).trimmingCharacters(in: CharacterSet(charactersIn: "'\""))
            } else if indent == 4, let path, key.hasSuffix(":"), Self.methods.contains(String(key.dropLast())) {
                operations.insert("\(key.dropLast().uppercased()) \(path)")
            }
        }
        return operations
    }

    /// The router's routes as `METHOD /path`, with `:patient` written `{patient}`.
    static func registeredOperations() throws -> Set<String> {
        let key = DeviceKey()
        return try TemporaryDirectory.with { directory in
            let projected = try ProjectedStoreFactory.make(in: directory, key: key)
            let server = ClinicServer(
                projected: projected, key: key, configuration: ClinicServerConfiguration(), logger: quietLogger)
            return Set(AuthorizationMatrixTests.registeredRoutes(of: server))
        }
    }

    @Test("every registered route is documented in Schemas/openapi.yaml, and every documented operation is registered")
    func routesMatchDocument() throws {
        let text = try String(contentsOfFile: Self.documentPath, encoding: .utf8)
        let documented = Self.documentedOperations(text)
        let registered = try Self.registeredOperations()
        #expect(documented.count >= 10, "parsed only \(documented.sorted()) from the document")
        #expect(
            registered.subtracting(documented).isEmpty,
            "registered but not documented: \(registered.subtracting(documented).sorted())")
        #expect(
            documented.subtracting(registered).isEmpty,
            "documented but not registered: \(documented.subtracting(registered).sorted())")
    }

    @Test(
        "the line-based reading of paths agrees with a YAML parser",
        .requires(.pythonYAML, "the line-based reading of Schemas/openapi.yaml is not compared with a YAML parser"))
    func lineReadingAgreesWithYAML() throws {
        let script = """
            import json, sys, yaml
            doc = yaml.safe_load(open(sys.argv[1]))
            ops = [m.upper() + " " + p for p, item in doc["paths"].items() for m in item if m in ("get","put","post","delete","options","head","patch","trace")]
            print(json.dumps(sorted(ops)))
            """
        let (status, output) = try Python.run(.pythonYAML, ["-c", script, Self.documentPath])
        #expect(status == 0, "\(output)")
        let parsed = try JSONParser.parse(Array(output.utf8))
        guard case .array(let items) = parsed else {
            Issue.record("python printed \(output)")
            return
        }
        let fromYAML = Set(items.compactMap(\.stringValue))
        let text = try String(contentsOfFile: Self.documentPath, encoding: .utf8)
        #expect(fromYAML == Self.documentedOperations(text))
    }

    @Test(
        "Schemas/openapi.yaml is a valid OpenAPI document (openapi-spec-validator)",
        .requires(.pythonOpenAPIValidator, "Schemas/openapi.yaml is not validated as OpenAPI 3.1"))
    func documentValidates() throws {
        let (status, output) = try Python.run(.pythonOpenAPIValidator, [
            "-c",
            "import sys, yaml; from openapi_spec_validator import validate; validate(yaml.safe_load(open(sys.argv[1])))",
            Self.documentPath,
        ])
        #expect(status == 0, "openapi-spec-validator refused the document:\n\(output)")
    }
}

/// Makes a bare projected store for a server that is never started.
enum ProjectedStoreFactory {
    static func make(in directory: TemporaryDirectory, key: DeviceKey) throws -> ProjectedStore {
        try ProjectedStore.create(at: directory.file("bare.sqlite"), deviceName: "bare", key: key)
    }
}

/// python3 with the modules a test requires.
enum Python {
    /// Runs `python3 ARGUMENTS` with `modules` importable; returns the exit status and stdout+stderr.
    static func run(_ modules: RequiredTool, _ arguments: [String]) throws -> (Int32, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try #require(modules.path))
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
