import Testing

@testable import ProloDomain

/// Guards the fast paths of the body codec and the value types the store decodes on every row: they must
/// write the same bytes and accept and refuse the same text as the straightforward versions they replaced.
@Suite("Fast codec paths keep stored bytes and validation unchanged")
struct CodecPerformanceRegressionTests {
    // MARK: Body codec

    /// Inputs covering the catalog, the edges of zlib's buffers and window, and data that does not compress.
    static func corpus() throws -> [[UInt8]] {
        var inputs: [[UInt8]] = try CatalogExamples.all.map { payload in try canonicalBytes(of: v1Shape(payload)) }
        inputs += [[], [0x7B], Array("{}".utf8), CompressionDictionary.v1.bytes]
        inputs.append([UInt8](repeating: 0x20, count: 100_000))
        var generator = SplitMix64(seed: 42)
        for count in [1, 17, 1_000, 40_000, 70_000] {
            inputs.append((0..<count).map { _ in UInt8(truncatingIfNeeded: generator.next()) })
        }
        // Text-like bytes: catalog examples glued together past the 32 KiB window.
        let glued = inputs.prefix(CatalogExamples.all.count).reduce(into: [UInt8]()) { $0 += $1 }
        inputs.append(Array(repeatElement(glued, count: 12).joined()))
        return inputs
    }

    /// The catalog examples as they were when the digests were recorded: without the v2 fields (issue 15).
    private static func v1Shape(_ payload: any EventPayload) -> any EventPayload {
        if var exam = payload as? ExamRecorded {
            exam.bodyWeightKg = nil
            exam.anticoagulantOrAntiplatelet = nil
            exam.bleedingDisorder = nil
            exam.allergies = nil
            return exam
        }
        if var report = payload as? SideEffectReported {
            report.localSigns = nil
            return report
        }
        return payload
    }

    private static func canonicalBytes<Payload: EventPayload>(of payload: Payload) throws -> [UInt8] {
        try PayloadCodec.canonicalBytes(of: payload)
    }

    /// SHA-256 over every compressed body of the corpus, each preceded by its length; recorded with zlib's
    /// own wrapper (deflateInit2 level 9, window 15, memLevel 8, deflateSetDictionary) before the raw rewrite.
    static let recordedDigest = [
        "none": "2343dac0358a4fdc61faa99c19d47f48a004f6e0aa4b5246332efa6310989780",
        "v1": "86d48bae85e195ab2696930492c01e7e51445c6dc38419a66767115efe48d0e2",
    ]

    @Test("compressed bytes are the ones zlib's own wrapper wrote", arguments: ["none", "v1"])
    func compressedBytesAreUnchanged(dictionaryName: String) throws {
        let dictionary: CompressionDictionary = dictionaryName == "none" ? .none : .v1
        var all: [UInt8] = []
        for input in try Self.corpus() {
            let body = try BodyCodec.compress(input, dictionary: dictionary)
            all += withUnsafeBytes(of: UInt32(body.count).bigEndian) { Array($0) }
            all += body
        }
        #expect(Event.computeHash(envelope: [], body: all).hex == Self.recordedDigest[dictionaryName])
    }

    @Test("every corpus body round-trips, including ones larger than the inflate scratch space")
    func corpusRoundTrips() throws {
        for dictionary in [CompressionDictionary.none, .v1] {
            for input in try Self.corpus() {
                let body = try BodyCodec.compress(input, dictionary: dictionary)
                #expect(try BodyCodec.decompress(body, dictionaryVersion: dictionary.version) == input)
            }
        }
    }

    @Test("the zlib header says level 9 and names the dictionary by its Adler-32")
    func headerBytes() throws {
        let plain = try BodyCodec.compress(Array("{\"a\":1}".utf8), dictionary: .none)
        #expect(Array(plain.prefix(2)) == [0x78, 0xDA])
        let preset = try BodyCodec.compress(Array("{\"a\":1}".utf8), dictionary: .v1)
        #expect(Array(preset.prefix(2)) == [0x78, 0xF9])
        #expect(Array(preset[2..<6]) == Self.adler32BigEndian(CompressionDictionary.v1.bytes))
    }

    @Test("a dictionary that is not a shipped one is still named by its own Adler-32")
    func customDictionary() throws {
        let custom = CompressionDictionary(version: 1, bytes: Array("{\"instrument\":\"nrs\"}".utf8))
        let body = try BodyCodec.compress(Array("{\"instrument\":\"nrs\",\"score\":3}".utf8), dictionary: custom)
        #expect(Array(body[2..<6]) == Self.adler32BigEndian(custom.bytes))
        #expect(throws: BodyCodecError.corrupt("body was compressed with another dictionary")) {
            try BodyCodec.decompress(body, dictionaryVersion: 1)
        }
    }

    @Test("bodies up to exactly 1 MiB inflate; one byte more is refused")
    func sizeLimitIsExact() throws {
        let limit = BodyCodec.maximumInflatedSize
        let atLimit = try BodyCodec.compress([UInt8](repeating: 0x41, count: limit), dictionary: .none)
        #expect(try BodyCodec.decompress(atLimit, dictionaryVersion: 0).count == limit)
        let over = try BodyCodec.compress([UInt8](repeating: 0x41, count: limit + 1), dictionary: .none)
        #expect(throws: BodyCodecError.tooLarge(limit: limit)) { try BodyCodec.decompress(over, dictionaryVersion: 0) }
        // The stream that grew for these is usable again for a small body.
        let small = try BodyCodec.compress(Array("{\"b\":2}".utf8), dictionary: .v1)
        #expect(try BodyCodec.decompress(small, dictionaryVersion: 1) == Array("{\"b\":2}".utf8))
    }

    @Test("damaged bodies are refused with the reasons zlib gave")
    func damagedBodies() throws {
        let input = Array(#"{"instrument":"nrs","note":"worse after gardening","score":6}"#.utf8)
        let body = try BodyCodec.compress(input, dictionary: .v1)
        let plain = try BodyCodec.compress(input, dictionary: .none)
        var badCheck = body
        badCheck[badCheck.count - 1] ^= 0x01
        var badHeader = body
        badHeader[1] ^= 0x01
        var badMethod = body
        badMethod[0] = 0x79
        var badWindow = body
        badWindow[0] = 0x88
        badWindow[1] = 0x1C  // keeps the header check valid
        let cases: [([UInt8], Int, BodyCodecError)] = [
            ([], 1, .corrupt("compressed body is truncated")),
            ([0x78], 1, .corrupt("compressed body is truncated")),
            (Array(body.prefix(4)), 1, .corrupt("compressed body is truncated")),
            (Array(body.dropLast(2)), 1, .corrupt("compressed body is truncated")),
            (Array(body.dropLast(5)), 1, .corrupt("compressed body is truncated")),
            (body + [0x00], 1, .corrupt("trailing bytes after the compressed body")),
            (badCheck, 1, .corrupt("zlib reports incorrect data check")),
            (badHeader, 1, .corrupt("zlib reports incorrect header check")),
            (badMethod, 1, .corrupt("zlib reports incorrect header check")),
            (badWindow, 1, .corrupt("zlib reports invalid window size")),
            (body, 0, .corrupt("body needs a dictionary but dict is 0")),
        ]
        for (bytes, version, expected) in cases {
            #expect(throws: expected, "\(bytes.prefix(8))") {
                try BodyCodec.decompress(bytes, dictionaryVersion: version)
            }
        }
        // A body made without the dictionary reads back whichever dictionary version the row names, as before.
        #expect(try BodyCodec.decompress(plain, dictionaryVersion: 1) == input)
    }

    private static func adler32BigEndian(_ bytes: [UInt8]) -> [UInt8] {
        var a: UInt32 = 1
        var b: UInt32 = 0
        for byte in bytes {
            a = (a + UInt32(byte)) % 65_521
            b = (b + a) % 65_521
        }
        let value = b << 16 | a
        return [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
    }

    // MARK: Values decoded on every row

    @Test("timestamps format exactly as the interpolating formatter did")
    func timestampFormatting() {
        var generator = SplitMix64(seed: 7)
        var samples: [Int64] = [
            0, -1, 1, 999, 1000, -86_400_000, -86_400_001, 1_790_000_000_000, 253_402_300_799_999, 253_402_300_800_000,
            -62_135_596_800_000, -62_135_596_800_001, -62_167_219_200_000, 4_102_444_800_000,
        ]
        for _ in 0..<20_000 {
            samples.append(Int64(truncatingIfNeeded: generator.next() % 400_000_000_000_000) - 100_000_000_000_000)
        }
        for milliseconds in samples {
            #expect(Timestamp(millisecondsSinceEpoch: milliseconds).text == Self.referenceFormat(milliseconds))
        }
    }

    @Test("timestamp parsing accepts and refuses the same text as before")
    func timestampParsing() {
        var generator = SplitMix64(seed: 11)
        var texts = [
            "2026-03-02T09:30:00Z", "2026-03-02T09:30:00.1Z", "2026-03-02T09:30:00.12Z", "2026-03-02T09:30:00.123Z",
            "2026-03-02T09:30:00.1234Z", "2026-03-02T09:30:00.Z", "2026-02-29T00:00:00Z", "2024-02-29T23:59:59.999Z",
            "2026-03-02T24:00:00Z", "2026-03-02T09:60:00Z", "2026-03-02T09:30:60Z", "2026-13-02T09:30:00Z",
            "0000-01-01T00:00:00Z", "9999-12-31T23:59:59.999Z", "2026-03-02T09:30:00+01:00", "2026-03-02 09:30:00Z",
            "2026-03-02T09:30:00z", "", "Z", "２０２６-03-02T09:30:00Z", "2026-03-02T09:30:00.12é",
        ]
        let alphabet = Array("0123456789-:TZ.z ".utf8)
        for base in texts.prefix(4) {
            for _ in 0..<2_000 {
                var bytes = Array(base.utf8)
                let position = Int(generator.next() % UInt64(bytes.count))
                bytes[position] = alphabet[Int(generator.next() % UInt64(alphabet.count))]
                texts.append(String(decoding: bytes, as: UTF8.self))
            }
        }
        for text in texts {
            #expect(Timestamp.parse(text) == Self.referenceParse(text), "\(text)")
        }
    }

    @Test("UUID and identifier rules accept and refuse the same text as before")
    func identifierRules() {
        var generator = SplitMix64(seed: 3)
        let uuid = Array("0193a6f0-7c1e-7a3b-9f00-1c2d3e4f5a6b".utf8)
        let alphabet = Array("0123456789abcdefABCDEFgz-_.:é ".utf8)
        var texts = ["", "a", "0193a6f0-7c1e-7a3b-9f00-1c2d3e4f5a6b", "0193A6F0-7C1E-7A3B-9F00-1C2D3E4F5A6B", "p-0001"]
        for _ in 0..<5_000 {
            var bytes = uuid
            let position = Int(generator.next() % UInt64(bytes.count))
            bytes[position] = alphabet[Int(generator.next() % UInt64(alphabet.count))]
            if generator.next() % 7 == 0 { bytes.removeLast() }
            texts.append(String(decoding: bytes, as: UTF8.self))
            let length = Int(generator.next() % 70)
            let random = (0..<length).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] }
            texts.append(String(decoding: random, as: UTF8.self))
        }
        for text in texts {
            #expect(UUIDRule.allows(text) == Self.referenceUUIDAllows(text), "\(text)")
            #expect(IdentifierRule.allows(text) == Self.referenceIdentifierAllows(text), "\(text)")
        }
    }

    @Test("hex encoding and made UUIDs keep their exact text")
    func hexAndUUIDText() {
        var generator = SplitMix64(seed: 5)
        let bytes = (0..<64).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        let expected = bytes.map { byte in (byte < 16 ? "0" : "") + String(byte, radix: 16) }.joined()
        #expect(Hex.encode(bytes) == expected)
        #expect(Hex.decode(Hex.encode(bytes)) == bytes)
        var fixed = SplitMix64(seed: 9)
        let id = UUIDv7.make(milliseconds: 1_790_000_000_000, using: &fixed)
        // Recorded with the byte-array version of `make`: the same generator output gives the same text.
        #expect(id.text == "01a0c450-6c00-7fae-a460-70befe522dc0")
        var again = SplitMix64(seed: 9)
        #expect(UUIDv7.make(milliseconds: 1_790_000_000_000, using: &again) == id)
        #expect(UUIDRule.allows(UUIDv7.make(milliseconds: 1_790_000_000_000).text))
    }

    // MARK: Reference versions (the implementations before the fast paths)

    static func referenceFormat(_ milliseconds: Int64) -> String {
        let days = Int64((Double(milliseconds) / 86_400_000).rounded(.down))
        let inDay = milliseconds - days * 86_400_000
        let (year, month, day) = CalendarDay.civil(fromDays: days)
        func pad(_ value: Int64, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        let hour = inDay / 3_600_000
        let minute = inDay / 60_000 % 60
        let second = inDay / 1000 % 60
        let fraction = inDay % 1000
        return "\(pad(Int64(year), 4))-\(pad(Int64(month), 2))-\(pad(Int64(day), 2))T"
            + "\(pad(hour, 2)):\(pad(minute, 2)):\(pad(second, 2)).\(pad(fraction, 3))Z"
    }

    static func referenceParse(_ text: String) -> Int64? {
        let bytes = Array(text.utf8)
        guard bytes.count >= 20, bytes.count <= 24, bytes.last == UInt8(ascii: "Z") else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for position in range {
                let byte = bytes[position]
                guard byte >= 0x30, byte <= 0x39 else { return nil }
                value = value * 10 + Int(byte - 0x30)
            }
            return value
        }
        guard bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"), bytes[10] == UInt8(ascii: "T"),
            bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":"),
            let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
            let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19),
            CalendarDay.isValid(year: year, month: month, day: day), hour < 24, minute < 60, second < 60
        else { return nil }
        var milliseconds = 0
        if bytes.count > 20 {
            guard bytes[19] == UInt8(ascii: "."), bytes.count >= 22, let fraction = number(20..<(bytes.count - 1))
            else { return nil }
            let digits = bytes.count - 21
            milliseconds = fraction * [100, 10, 1][digits - 1]
        } else if bytes[19] != UInt8(ascii: "Z") {
            return nil
        }
        let days = CalendarDay.days(year: year, month: month, day: day)
        return ((days * 24 + Int64(hour)) * 60 + Int64(minute)) * 60_000 + Int64(second) * 1000 + Int64(milliseconds)
    }

    static func referenceUUIDAllows(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count == 36 else { return false }
        for (position, byte) in bytes.enumerated() {
            if [8, 13, 18, 23].contains(position) {
                guard byte == UInt8(ascii: "-") else { return false }
            } else {
                guard (0x30...0x39).contains(byte) || (0x61...0x66).contains(byte) else { return false }
            }
        }
        return true
    }

    static func referenceIdentifierAllows(_ text: String) -> Bool {
        func isAlphanumeric(_ byte: UInt8) -> Bool {
            (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
        }
        let bytes = text.utf8
        guard let first = bytes.first, bytes.count <= 64, isAlphanumeric(first) else { return false }
        return bytes.allSatisfy {
            isAlphanumeric($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ":")
                || $0 == UInt8(ascii: "-")
        }
    }
}

/// A small deterministic generator (SplitMix64) for reproducible test inputs.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
