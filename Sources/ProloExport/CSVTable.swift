import Foundation

/// One CSV file (RFC 4180: comma-separated, a field quoted when it holds a comma, quote or line break), written
/// through a buffer.
final class CSVTable {
    let path: String
    private var handle: FileHandle?
    private var buffer: [UInt8] = []
    /// Rows written, the header not counted.
    private(set) var rows = 0

    /// Creates the file with its header row.
    init(path: String, header: [String]) throws(FHIRExportError) {
        self.path = path
        guard FileManager.default.createFile(atPath: path, contents: nil),
            let handle = FileHandle(forWritingAtPath: path)
        else { throw FHIRExportError(.output, "cannot create \(path)") }
        self.handle = handle
        append(header)
    }

    /// Appends a row (`nil` is an empty field).
    func write(_ fields: [String?]) throws(FHIRExportError) {
        append(fields)
        rows += 1
        if buffer.count >= 1 << 20 { try flush() }
    }

    /// Writes what is buffered and closes the file.
    func finish() throws(FHIRExportError) {
        try flush()
        try? handle?.close()
        handle = nil
    }

    private func append(_ fields: [String?]) {
        let line = fields.map { field -> String in
            guard let field else { return "" }
            guard field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return field }
            return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
        buffer.append(contentsOf: Array((line.joined(separator: ",") + "\r\n").utf8))
    }

    private func flush() throws(FHIRExportError) {
        guard !buffer.isEmpty else { return }
        do {
            try handle?.write(contentsOf: buffer)
        } catch {
            throw FHIRExportError(.output, "cannot write \(path): \(error.localizedDescription)")
        }
        buffer = []
    }
}
