import Crypto
import ProloDomain
import ProloSync
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One input read as a bundle file twice:
/// 1. as is: written to a scratch file and read with `BundleReader` to the end (and checked with
///    `BundleReader.verify`); every record goes through `EventWireCodec.decode` (payloads are the event target's
///    job), the header through `BundleHeader` (which checks its Ed25519 signature). Mutations here mostly stop at the
///    SHA-256 checksums, which is what a damaged copy looks like.
/// 2. resealed (unencrypted layouts only): the input is read as a bundle whose block payloads are the *raw* framed
///    records; the harness compresses each payload, sets the raw and stored lengths, and recomputes the header
///    checksum, every block checksum and the whole-file checksum. That lets mutations of the header JSON, the record
///    framing, the record counts and the records themselves reach the code behind the checksums.
///    Tools/fuzz-seeds.py writes seeds in this form too ("*.expanded").
///
/// Encrypted bundles are read with a fixed recipient key (the X25519 key of DeviceKey seed 0x01…0x20); seeds are
/// encrypted to it.
enum BundleReaderCheck {
    static func run(_ input: [UInt8]) throws(FuzzCheckFailure) {
        try read(input)
        if let resealed = reseal(input) { try read(resealed) }
    }

    private static let recipientKey = try? DeviceKey(seed: (1...32).map { UInt8($0) }).agreementKey()

    /// `$TMPDIR/prolo-fuzz-bundle-PID-`, the start of every scratch file's path.
    private static let scratchPrefix: String = {
        let directory = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        return "\(directory)/prolo-fuzz-bundle-\(getpid())-"
    }()

    /// Numbers the scratch files, so concurrent checks (the replay test runs inputs in parallel) never share one.
    private static let scratchFiles = Atomic<Int>(0)

    private static func read(_ bytes: [UInt8]) throws(FuzzCheckFailure) {
        let path = scratchPrefix + "\(scratchFiles.add(1, ordering: .relaxed).newValue).prolobundle"
        try store(bytes, at: path)
        // Removed after the read; left behind only when a decoder traps (then it holds the input that crashed).
        defer { unlink(path) }
        _ = try? BundleReader.verify(path: path)
        guard var reader = try? BundleReader(path: path, recipientKey: recipientKey) else { return }
        _ = try? BundleHeader(bytes: reader.header, signature: reader.headerSignature)
        while true {
            let block: BundleBlock?
            do { block = try reader.nextBlock() } catch { break }
            guard let block else { break }
            for record in block.records { _ = try? EventWireCodec.decode(record) }
        }
        _ = reader.summary
    }

    /// Writes `bytes` to a new file at `path` (POSIX calls: this runs for every fuzz input).
    private static func store(_ bytes: [UInt8], at path: String) throws(FuzzCheckFailure) {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw FuzzCheckFailure("cannot create the scratch bundle \(path)") }
        defer { close(descriptor) }
        var written = 0
        while written < bytes.count {
            let result = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress! + written, $0.count - written) }
            if result < 0 {
                if errno == EINTR { continue }
                throw FuzzCheckFailure("cannot write the scratch bundle \(path)")
            }
            written += result
        }
    }

    // MARK: - Resealing

    private static let preambleSize = 58

    /// The input as a valid-checksum bundle whose blocks hold the input's payloads compressed; nil when the input
    /// does not start with an unencrypted preamble. Whatever does not parse is copied as is (a cut or damaged tail).
    private static func reseal(_ input: [UInt8]) -> [UInt8]? {
        guard input.count >= preambleSize + 4, input[11] & 1 == 0 else { return nil }
        var output = Array(input[0..<preambleSize])
        var position = preambleSize
        let sectionSize = Int(u32(input, at: position))
        guard input.count - position - 4 >= sectionSize else { return nil }
        output += input[position..<(position + 4 + sectionSize)]
        position += 4 + sectionSize + 32
        output += sha256(output)
        while position < input.count {
            switch input[position] {
            case 0x42 where input.count - position >= 49:  // a block: kind, index, n, R, L, checksum, payload
                let index = u32(input, at: position + 1)
                let records = u32(input, at: position + 5)
                let length = Int(u32(input, at: position + 13))
                let payloadStart = position + 49
                let raw = Array(input[payloadStart..<min(input.count, payloadStart + length)])
                guard let compressed = try? BodyCodec.compress(raw, dictionary: .none) else { return nil }
                var fields: [UInt8] = [0x42]
                for value in [index, records, UInt32(raw.count), UInt32(compressed.count)] { put(value, into: &fields) }
                output += fields
                output += sha256(fields + compressed)
                output += compressed
                position = payloadStart + raw.count
            case 0x54 where input.count - position >= 45:  // the trailer: kind, blocks, records, file checksum
                output += input[position..<(position + 13)]
                output += sha256(output)
                output += input[(position + 45)...]
                return output
            default:
                output += input[position...]
                return output
            }
        }
        return output
    }

    private static func sha256(_ bytes: [UInt8]) -> [UInt8] { Array(SHA256.hash(data: bytes)) }

    private static func u32(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        bytes[offset..<(offset + 4)].reduce(0) { $0 << 8 | UInt32($1) }
    }

    private static func put(_ value: UInt32, into bytes: inout [UInt8]) {
        bytes += [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
    }
}
