public import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The file that holds a device's private key, beside the store: `prolo.sqlite` → `prolo.sqlite.key`.
///
/// It is created with mode 0600 and refused when its mode lets group or others read it, as ssh refuses
/// an open private key. Format: a first line `prolo-device-key-v1`, then the base64 of the 32-byte seed.
public enum DeviceKeyFile {
    static let header = "prolo-device-key-v1"

    /// Where the key of the store at `storePath` lives.
    public static func path(forStore storePath: String) -> String { storePath + ".key" }

    /// Creates the key file with mode 0600; refuses to overwrite an existing one.
    public static func create(_ key: DeviceKey, at path: String) throws(IdentityError) {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            let reason = String(cString: strerror(errno))
            throw IdentityError(.cannotCreate, "cannot create key file \(path): \(reason)")
        }
        defer { close(descriptor) }
        let text = Array("\(header)\n\(key.seed.base64EncodedString())\n".utf8)
        let written = text.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        guard written == text.count, fsync(descriptor) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(path)
            throw IdentityError(.cannotCreate, "cannot write key file \(path): \(reason)")
        }
    }

    /// Reads the key file, refusing it when others may read it or when it is not a Prolo device key.
    public static func load(from path: String) throws(IdentityError) -> DeviceKey {
        var status = stat()
        guard stat(path, &status) == 0 else {
            if errno == ENOENT {
                throw IdentityError(.missingKeyFile, "no device key at \(path); run `prolo init` to make one")
            }
            throw IdentityError(.ioError, "cannot read key file \(path): \(String(cString: strerror(errno)))")
        }
        let mode = status.st_mode & 0o777
        guard mode & 0o077 == 0 else {
            throw IdentityError(
                .permissionsTooOpen,
                "permissions \(String(mode, radix: 8)) for key file \(path) are too open; "
                    + "a device key must be readable by its owner only (chmod 600 \(path))")
        }
        guard access(path, R_OK) == 0 else {
            throw IdentityError(
                .unreadable,
                "cannot read key file \(path): \(String(cString: strerror(errno))); only the device's owner may sign "
                    + "with it (reading needs no key)")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw IdentityError(.ioError, "cannot read key file \(path)")
        }
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n")
        guard lines.count == 2, lines[0] == header, let seed = Data(base64Encoded: String(lines[1])), seed.count == 32 else {
            throw IdentityError(.malformedKey, "\(path) is not a Prolo device key file")
        }
        return try DeviceKey(seed: seed)
    }
}
