// libFuzzer entry point; see Tools/fuzz.sh and Tools/FUZZING.md. Without -sanitize=fuzzer this builds as an
// executable that does nothing (SwiftPM renames `main`; nothing here runs at top level).
//
// One input is read as a bundle file twice:
// 1. as is: written to one temporary file (one path per process) and read with BundleReader to the end (and checked with
//    BundleReader.verify); every record goes through EventWireCodec.decode (payloads are prolo-fuzz-event's
//    job), the header through BundleHeader (which checks its Ed25519 signature).
//    Mutations here mostly stop at the SHA-256 checksums, which is what a damaged copy looks like.
// 2. resealed (unencrypted layouts only): the input is read as a bundle whose block payloads are the *raw* framed
//    records; the harness compresses each payload, sets the raw and stored lengths, and recomputes the header
//    checksum, every block checksum and the whole-file checksum. That lets mutations of the header JSON, the
//    record framing, the record counts and the records themselves reach the code behind the checksums.
//    Tools/fuzz-seeds.py writes seeds in this form too ("*.expanded").
// Encrypted bundles are read with a fixed recipient key (the X25519 key of DeviceKey seed 0x01…0x20); seeds are
// encrypted to it.
import ProloDomain
import ProloSync

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = Array(UnsafeRawBufferPointer(start: start, count: count))
    FuzzBundle.read(bytes)
    if let resealed = FuzzBundle.reseal(bytes) { FuzzBundle.read(resealed) }
    return 0
}

private enum FuzzBundle {
    /// One path per process, rewritten for every input and removed after it (an input that crashes leaves it).
    static let path: String = {
        let directory = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        return "\(directory)/prolo-fuzz-bundle-\(getpid()).prolobundle"
    }()

    static let recipientKey = try? DeviceKey(seed: (1...32).map { UInt8($0) }).agreementKey()

    static func read(_ bytes: [UInt8]) {
        store(bytes)
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

    /// Replaces the file's content with `bytes`.
    private static func store(_ bytes: [UInt8]) {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { fatalError("prolo-fuzz-bundle: cannot write \(path)") }
        defer { close(descriptor) }
        var written = 0
        while written < bytes.count {
            let result = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress! + written, $0.count - written) }
            if result < 0 {
                if errno == EINTR { continue }
                fatalError("prolo-fuzz-bundle: cannot write \(path)")
            }
            written += result
        }
    }

    // MARK: - Resealing

    private static let preambleSize = 58

    /// The input as a valid-checksum bundle whose blocks hold the input's payloads compressed; nil when the input
    /// does not start with an unencrypted preamble. Whatever does not parse is copied as is (a cut or damaged tail).
    static func reseal(_ input: [UInt8]) -> [UInt8]? {
        guard input.count >= preambleSize + 4, input[11] & 1 == 0 else { return nil }
        var output = Array(input[0..<preambleSize])
        var position = preambleSize
        let sectionSize = Int(u32(input, at: position))
        guard input.count - position - 4 >= sectionSize else { return nil }
        output += input[position..<(position + 4 + sectionSize)]
        position += 4 + sectionSize + 32
        output += SHA256Digest.of(output)
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
                output += SHA256Digest.of(fields + compressed)
                output += compressed
                position = payloadStart + raw.count
            case 0x54 where input.count - position >= 45:  // the trailer: kind, blocks, records, file checksum
                output += input[position..<(position + 13)]
                output += SHA256Digest.of(output)
                output += input[(position + 45)...]
                return output
            default:
                output += input[position...]
                return output
            }
        }
        return output
    }

    private static func u32(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        bytes[offset..<(offset + 4)].reduce(0) { $0 << 8 | UInt32($1) }
    }

    private static func put(_ value: UInt32, into bytes: inout [UInt8]) {
        bytes += [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
    }
}

/// FIPS 180-4 SHA-256, for resealing checksums (the fuzz target depends on ProloDomain and ProloSync only).
private enum SHA256Digest {
    private static let k: [UInt32] = [
        0x428a_2f98, 0x7137_4491, 0xb5c0_fbcf, 0xe9b5_dba5, 0x3956_c25b, 0x59f1_11f1, 0x923f_82a4, 0xab1c_5ed5,
        0xd807_aa98, 0x1283_5b01, 0x2431_85be, 0x550c_7dc3, 0x72be_5d74, 0x80de_b1fe, 0x9bdc_06a7, 0xc19b_f174,
        0xe49b_69c1, 0xefbe_4786, 0x0fc1_9dc6, 0x240c_a1cc, 0x2de9_2c6f, 0x4a74_84aa, 0x5cb0_a9dc, 0x76f9_88da,
        0x983e_5152, 0xa831_c66d, 0xb003_27c8, 0xbf59_7fc7, 0xc6e0_0bf3, 0xd5a7_9147, 0x06ca_6351, 0x1429_2967,
        0x27b7_0a85, 0x2e1b_2138, 0x4d2c_6dfc, 0x5338_0d13, 0x650a_7354, 0x766a_0abb, 0x81c2_c92e, 0x9272_2c85,
        0xa2bf_e8a1, 0xa81a_664b, 0xc24b_8b70, 0xc76c_51a3, 0xd192_e819, 0xd699_0624, 0xf40e_3585, 0x106a_a070,
        0x19a4_c116, 0x1e37_6c08, 0x2748_774c, 0x34b0_bcb5, 0x391c_0cb3, 0x4ed8_aa4a, 0x5b9c_ca4f, 0x682e_6ff3,
        0x748f_82ee, 0x78a5_636f, 0x84c8_7814, 0x8cc7_0208, 0x90be_fffa, 0xa450_6ceb, 0xbef9_a3f7, 0xc671_78f2,
    ]

    /// Written for -Onone speed (fuzz builds are debug builds): masking shifts and buffers, no generic calls.
    static func of(_ message: [UInt8]) -> [UInt8] {
        var h: (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32) = (
            0x6a09_e667, 0xbb67_ae85, 0x3c6e_f372, 0xa54f_f53a, 0x510e_527f, 0x9b05_688c, 0x1f83_d9ab, 0x5be0_cd19
        )
        var padded = message
        padded.append(0x80)
        padded.append(contentsOf: repeatElement(0, count: (119 - message.count % 64) % 64))
        let bits = UInt64(message.count) &* 8
        for shift in stride(from: 56, through: 0, by: -8) {
            padded.append(UInt8(truncatingIfNeeded: bits &>> UInt64(shift)))
        }
        let w = UnsafeMutableBufferPointer<UInt32>.allocate(capacity: 64)
        defer { w.deallocate() }
        padded.withUnsafeBufferPointer { p in
            k.withUnsafeBufferPointer { k in
                var chunk = 0
                while chunk < p.count {
                    for t in 0..<16 {
                        let o = chunk &+ 4 &* t
                        w[t] =
                            UInt32(p[o]) &<< 24 | UInt32(p[o &+ 1]) &<< 16 | UInt32(p[o &+ 2]) &<< 8 | UInt32(p[o &+ 3])
                    }
                    for t in 16..<64 {
                        let x = w[t &- 15]
                        let y = w[t &- 2]
                        let s0 = (x &>> 7 | x &<< 25) ^ (x &>> 18 | x &<< 14) ^ (x &>> 3)
                        let s1 = (y &>> 17 | y &<< 15) ^ (y &>> 19 | y &<< 13) ^ (y &>> 10)
                        w[t] = w[t &- 16] &+ s0 &+ w[t &- 7] &+ s1
                    }
                    var (a, b, c, d, e, f, g, hh) = h
                    for t in 0..<64 {
                        let s1 = (e &>> 6 | e &<< 26) ^ (e &>> 11 | e &<< 21) ^ (e &>> 25 | e &<< 7)
                        let t1 = hh &+ s1 &+ ((e & f) ^ (~e & g)) &+ k[t] &+ w[t]
                        let s0 = (a &>> 2 | a &<< 30) ^ (a &>> 13 | a &<< 19) ^ (a &>> 22 | a &<< 10)
                        let t2 = s0 &+ ((a & b) ^ (a & c) ^ (b & c))
                        (hh, g, f, e, d, c, b, a) = (g, f, e, d &+ t1, c, b, a, t1 &+ t2)
                    }
                    h = (h.0 &+ a, h.1 &+ b, h.2 &+ c, h.3 &+ d, h.4 &+ e, h.5 &+ f, h.6 &+ g, h.7 &+ hh)
                    chunk &+= 64
                }
            }
        }
        var digest: [UInt8] = []
        digest.reserveCapacity(32)
        for word in [h.0, h.1, h.2, h.3, h.4, h.5, h.6, h.7] {
            digest += [UInt8(word &>> 24), UInt8(word &>> 16 & 0xFF), UInt8(word &>> 8 & 0xFF), UInt8(word & 0xFF)]
        }
        return digest
    }
}
