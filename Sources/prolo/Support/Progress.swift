import Foundation

/// A progress bar on stderr when stderr is a terminal; silent otherwise (scripts and tests see clean output).
struct ProgressBar {
    let label: String
    private let isTerminal = isatty(STDERR_FILENO) == 1
    private var lastPercent = -1

    init(_ label: String) {
        self.label = label
    }

    /// Shows `done` of `total`, redrawing only when the percentage changes.
    mutating func update(_ done: Int, of total: Int) {
        guard isTerminal else { return }
        let percent = total == 0 ? 100 : min(100, done * 100 / total)
        guard percent != lastPercent else { return }
        lastPercent = percent
        let width = 30
        let filled = percent * width / 100
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        FileHandle.standardError.write(Data("\r\(label) [\(bar)] \(percent)% (\(done)/\(total))".utf8))
    }

    /// Ends the bar's line.
    func finish() {
        guard isTerminal, lastPercent >= 0 else { return }
        FileHandle.standardError.write(Data("\n".utf8))
    }
}
