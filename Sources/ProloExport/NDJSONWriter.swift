import Foundation
import ProloDomain

/// One ndjson file per resource type in a directory, written through a buffer (one line per resource).
final class NDJSONWriter {
    private let directory: String
    private var files: [String: FileHandle] = [:]
    private var buffers: [String: [UInt8]] = [:]
    /// Lines written per type.
    private(set) var counts: [String: Int] = [:]
    /// Bytes written, all files.
    private(set) var bytes = 0
    private static let flushAt = 1 << 20

    init(directory: String) { self.directory = directory }

    /// The file name of a type's lines.
    static func fileName(of type: String) -> String { type + ".ndjson" }

    /// One resource as a line: canonical JSON and a newline.
    static func line(_ resource: FHIRResource) -> [UInt8] {
        var line = CanonicalJSON.encode(resource.json)
        line.append(0x0A)
        return line
    }

    /// Appends one line (``line(_:)``) to a type's file.
    func write(_ line: [UInt8], type: String) throws(FHIRExportError) {
        buffers[type, default: []].append(contentsOf: line)
        counts[type, default: 0] += 1
        bytes += line.count
        if buffers[type, default: []].count >= Self.flushAt { try flush(type) }
    }

    /// Writes what is buffered and closes every file.
    func finish() throws(FHIRExportError) {
        for type in buffers.keys.sorted() { try flush(type) }
        for file in files.values { try? file.close() }
        files = [:]
    }

    private func flush(_ type: String) throws(FHIRExportError) {
        guard let pending = buffers[type], !pending.isEmpty else { return }
        let path = (directory as NSString).appendingPathComponent(Self.fileName(of: type))
        do {
            if files[type] == nil {
                guard FileManager.default.createFile(atPath: path, contents: nil) else {
                    throw FHIRExportError(.output, "cannot create \(path)")
                }
                files[type] = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            }
            try files[type]?.write(contentsOf: pending)
        } catch let error as FHIRExportError {
            throw error
        } catch {
            throw FHIRExportError(.output, "cannot write \(path): \(error.localizedDescription)")
        }
        buffers[type] = []
    }
}
