import Foundation
import ProloDomain
import ProloTestSupport
import Testing

@Suite("Canonical JSON and the strict parser")
struct CanonicalJSONTests {
    @Test("keys are sorted by their UTF-8 bytes and no white space is written")
    func sortsKeys() throws {
        let value = try JSONParser.parse(Array(#"{ "b": 1, "a": [true, null, "x"], "Z": {"d": 2.5, "c": -3} }"#.utf8))
        let text = String(decoding: CanonicalJSON.encode(value), as: UTF8.self)
        #expect(text == #"{"Z":{"c":-3,"d":2.5},"a":[true,null,"x"],"b":1}"#)
    }

    @Test("strings escape only quotes, backslashes and control characters; non-ASCII stays as UTF-8")
    func escapesStrings() throws {
        let value = JSONValue.string("38.6 °C \"hot\"\\\n\t\u{01}/")
        let text = String(decoding: CanonicalJSON.encode(value), as: UTF8.self)
        #expect(text == #""38.6 °C \"hot\"\\\n\t\u0001/""#)
    }

    @Test("canonical bytes are a fixed point: parsing and re-encoding gives the same bytes")
    func fixedPoint() throws {
        let samples = [
            #"{"a":1,"b":[1,2,{"c":"d"}],"e":1.5e-07,"f":-0.25,"g":"\u00e9\u2028"}"#,
            #"[1e300,0,-1,123456789012]"#,
        ]
        for sample in samples {
            let first = CanonicalJSON.encode(try JSONParser.parse(Array(sample.utf8)))
            let second = CanonicalJSON.encode(try JSONParser.parse(first))
            #expect(first == second)
        }
    }

    @Test("integers and fractions keep their kind", arguments: [("7", "7"), ("7.0", "7.0"), ("38.6", "38.6"), ("-0", "0")])
    func numbers(input: String, expected: String) throws {
        #expect(String(decoding: CanonicalJSON.encode(try JSONParser.parse(Array(input.utf8))), as: UTF8.self) == expected)
    }

    @Test(
        "malformed documents are refused with the byte offset",
        arguments: [
            (#"{"a":1,}"#, 7), (#"{"a" 1}"#, 5), (#"[1,2"#, 4), (#"{"a":01}"#, 6), (#"{"a":1}x"#, 7),
            (#""\x""#, 3), (#"{"a":1,"a":2}"#, 7), ("", 0), (#""\ud800""#, 7),
        ])
    func refusesMalformed(input: String, offset: Int) {
        #expect {
            try JSONParser.parse(Array(input.utf8))
        } throws: { error in
            (error as? JSONSyntaxError)?.offset == offset
        }
    }

    @Test(
        "strings are read whole without escapes and pieced together around them",
        arguments: [
            (#""plain ASCII""#, "plain ASCII"), (#""38.6 °C, blødning""#, "38.6 °C, blødning"), (#""""#, ""),
            (#""a\"b\\c\/d""#, "a\"b\\c/d"), (#""\n""#, "\n"), (#""before\tafter é""#, "before\tafter é"),
            (#""e\u0301 and \ud83d\ude00!""#, "e\u{0301} and \u{1F600}!"), (#""\u00e9\u00e9""#, "éé"),
        ])
    func readsStrings(input: String, expected: String) throws {
        let value = try JSONParser.parse(Array(input.utf8))
        #expect(value == .string(expected))
        #expect(value.stringValue.map { Array($0.unicodeScalars) } == Array(expected.unicodeScalars))
    }

    @Test("invalid UTF-8 inside a string is refused at the start of the run that holds it")
    func refusesInvalidUTF8() {
        for (bytes, offset) in [([0x22, 0x61, 0xFF, 0x22], 1), ([0x22, 0x5C, 0x6E, 0xC3, 0x22], 3)] as [([UInt8], Int)] {
            #expect {
                try JSONParser.parse(bytes)
            } throws: { error in
                (error as? JSONSyntaxError)?.offset == offset && (error as? JSONSyntaxError)?.message.contains("UTF-8") == true
            }
        }
    }

    @Test("nesting deeper than the limit is refused instead of exhausting the stack")
    func refusesDeepNesting() {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(throws: JSONSyntaxError.self) { try JSONParser.parse(Array(deep.utf8)) }
    }

    @Test(
        "canonical encoding matches Python's json.dumps(sort_keys=True, separators=(',', ':'), ensure_ascii=False)",
        .requires(.python3, "canonical JSON is not compared with a second encoder"))
    func matchesPython() throws {
        let sample = #"{"z":[1,2.5,-3.75e-05,"é",{"y":null,"x":true}],"a":"tab\there","m":1e+22}"#
        let swift = String(decoding: CanonicalJSON.encode(try JSONParser.parse(Array(sample.utf8))), as: UTF8.self)
        let script = """
            import json,sys
            v=json.loads(sys.stdin.read())
            sys.stdout.write(json.dumps(v,sort_keys=True,separators=(',',':'),ensure_ascii=False))
            """
        let python = try runPython(script, input: sample)
        #expect(swift == python)
    }

    private func runPython(_ script: String, input: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try #require(RequiredTool.python3.path))
        process.arguments = ["-c", script]
        let stdin = Pipe()
        let stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        try process.run()
        stdin.fileHandleForWriting.write(Data(input.utf8))
        try stdin.fileHandleForWriting.close()
        let data = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }
}
