import Foundation
import ProloTestSupport
import Testing

@Suite("prolo demo (the whole system)")
struct DemoSystemTests {
    @Test("demo runs two servers, a laptop, a home tablet, a bundle and an audit for real, and every check holds")
    func wholeSystem() throws {
        try TemporaryDirectory.with { directory in
            let folder = directory.file("demo")
            let result = try CommandRunner.prolo(["demo", "--dir", folder])
            #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
            #expect(!result.stdout.contains("✗"))
            let summary = try #require(result.stdout.split(separator: "\n").first { $0.hasSuffix("checks held") })
            let counts = summary.split(separator: " ")
            #expect(counts[0] == counts[2], "\(summary)")
            #expect(result.stdout.contains("converged: yes"))
            #expect(result.stdout.contains("✓ north-server raises possible-infection"))
            // --dir keeps every store, the bundle and the report.
            let report = (folder as NSString).appendingPathComponent("p-0001-report.html")
            let page = try String(contentsOfFile: report, encoding: .utf8)
            #expect(page.contains("<svg"))
            for name in ["north-server", "south-server", "laptop-room-2", "marens-tablet"] {
                #expect(FileManager.default.fileExists(atPath: (folder as NSString).appendingPathComponent("\(name).sqlite")))
            }
            let verify = try CommandRunner.prolo(["audit", "verify", "--store", (folder as NSString).appendingPathComponent("north-server.sqlite")])
            #expect(verify.status == 0, "\(verify.stderr)")
        }
    }

    @Test("demo --dir refuses a folder that is not empty (exit 73) and touches nothing in it")
    func refusesNonEmptyFolder() throws {
        try TemporaryDirectory.with { directory in
            let marker = directory.file("keep-me.txt")
            try Data("mine".utf8).write(to: URL(fileURLWithPath: marker))
            let result = try CommandRunner.prolo(["demo", "--dir", directory.path])
            #expect(result.status == 73)
            #expect(result.stderr.contains(directory.path))
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["keep-me.txt"])
        }
    }
}
