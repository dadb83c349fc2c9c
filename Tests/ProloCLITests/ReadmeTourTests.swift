import Foundation
import ProloTestSupport
import Testing

/// The README is a contract with a newcomer: its tour must work as printed.
@Suite("README")
struct ReadmeTourTests {
    @Test(
        "every command of the README's tour works as printed (Tools/readme-tour.py)",
        .requires(.python3, "the README's tour is not run"), .timeLimit(.minutes(5)))
    func tourRuns() throws {
        let python = try #require(RequiredTool.python3.path)
        let script = (Fixtures.repositoryRoot as NSString).appendingPathComponent("Tools/readme-tour.py")
        let folder = (CommandRunner.proloPath as NSString).deletingLastPathComponent
        let result = try CommandRunner.run(python, [script, "--prolo-dir", folder])
        let tail = (result.stdout + result.stderr).split(separator: "\n").suffix(40).joined(separator: "\n")
        #expect(result.status == 0, "the README tour failed:\n\(tail)")
        #expect(result.stdout.contains("commands of the README tour worked"))
    }
}
