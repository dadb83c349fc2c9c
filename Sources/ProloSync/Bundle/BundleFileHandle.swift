#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// An open file descriptor, closed when the last reference goes away.
///
/// Bundle readers and writers keep one of these and read or write it in large sequential chunks; there is no
/// buffering here because every call already moves a whole block or a fixed-size field.
final class BundleFileHandle {
    private let descriptor: Int32
    /// The path, for error messages.
    let path: String

    private init(descriptor: Int32, path: String) {
        self.descriptor = descriptor
        self.path = path
    }

    deinit { close(descriptor) }

    /// Creates `path` for writing, failing if it exists (mode 0600: bundles hold personal data).
    static func create(_ path: String) throws(BundleError) -> BundleFileHandle {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            let code = errno
            if code == EEXIST {
                throw BundleError(.exists, "\(path) already exists; remove it or choose another name")
            }
            throw BundleError(.ioError, "cannot create \(path): \(describe(code))")
        }
        return BundleFileHandle(descriptor: descriptor, path: path)
    }

    /// Opens an existing regular file for reading.
    static func openForReading(_ path: String) throws(BundleError) -> BundleFileHandle {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            let code = errno
            if code == ENOENT { throw BundleError(.ioError, "no bundle at \(path): the file does not exist") }
            throw BundleError(.ioError, "cannot open \(path): \(describe(code))")
        }
        let handle = BundleFileHandle(descriptor: descriptor, path: path)
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            throw BundleError(.ioError, "cannot inspect \(path): \(describe(errno))")
        }
        if (status.st_mode & S_IFMT) == S_IFDIR {
            throw BundleError(.notABundle, "\(path) is a directory, not a Prolo bundle")
        }
        return handle
    }

    /// Writes all of `bytes`.
    func write(_ bytes: [UInt8]) throws(BundleError) {
        var written = 0
        while written < bytes.count {
            let result = bytes.withUnsafeBytes { buffer in
                systemWrite(descriptor, buffer.baseAddress! + written, buffer.count - written)
            }
            if result < 0 {
                let code = errno
                if code == EINTR { continue }
                throw BundleError(.ioError, "cannot write to \(path): \(Self.describe(code))")
            }
            written += result
        }
    }

    /// Reads up to `count` bytes; fewer only at the end of the file.
    ///
    /// The buffer grows with what is read (1 MiB at a time), so a length field announcing more than the file holds
    /// costs no more memory than the file (a fuzzing finding: 62 bytes used to allocate 16 MiB).
    func read(_ count: Int) throws(BundleError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: min(count, 1 << 20))
        var filled = 0
        while filled < count {
            if filled == bytes.count {
                bytes.append(contentsOf: repeatElement(0, count: min(count - filled, 1 << 20)))
            }
            let result = bytes.withUnsafeMutableBytes { buffer in
                systemRead(descriptor, buffer.baseAddress! + filled, buffer.count - filled)
            }
            if result < 0 {
                let code = errno
                if code == EINTR { continue }
                throw BundleError(.ioError, "cannot read \(path): \(Self.describe(code))")
            }
            if result == 0 { break }
            filled += result
        }
        if filled < count { bytes.removeSubrange(filled...) }
        return bytes
    }

    /// Flushes written bytes to the storage device.
    func synchronize() throws(BundleError) {
        guard fsync(descriptor) == 0 else {
            throw BundleError(.ioError, "cannot flush \(path) to disk: \(Self.describe(errno))")
        }
    }

    /// Renames `source` to `destination` unless `destination` exists, then flushes the directory entry.
    static func publish(_ source: String, as destination: String) throws(BundleError) {
        if access(destination, F_OK) == 0 {
            throw BundleError(
                .exists, "\(destination) appeared while the bundle was written; nothing was overwritten")
        }
        guard rename(source, destination) == 0 else {
            throw BundleError(.ioError, "cannot rename \(source) to \(destination): \(describe(errno))")
        }
        let directory = destination.lastIndex(of: "/").map { String(destination[..<$0]) } ?? "."
        let directoryDescriptor = open(directory.isEmpty ? "/" : directory, O_RDONLY | O_CLOEXEC)
        if directoryDescriptor >= 0 {
            // Best effort: some file systems (FAT on USB sticks) cannot fsync a directory.
            _ = fsync(directoryDescriptor)
            close(directoryDescriptor)
        }
    }

    /// Removes a file, ignoring failures (used to clean up an abandoned `.partial`).
    static func remove(_ path: String) { _ = unlink(path) }

    static func describe(_ code: Int32) -> String { String(cString: strerror(code)) }
}

private func systemWrite(_ descriptor: Int32, _ pointer: UnsafeRawPointer, _ count: Int) -> Int {
    write(descriptor, pointer, count)
}

private func systemRead(_ descriptor: Int32, _ pointer: UnsafeMutableRawPointer, _ count: Int) -> Int {
    read(descriptor, pointer, count)
}
