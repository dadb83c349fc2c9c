import ProloDomain
import Testing

@Suite("zlib body compression with a preset dictionary")
struct BodyCodecTests {
    private let sample: [UInt8] = Array(
        #"{"instrument":"nrs","note":"worse after gardening","reporter":{"id":"p-0001","role":"patient"},"score":6}"#.utf8)

    @Test("bodies round-trip with and without the dictionary", arguments: [0, 1])
    func roundTrip(dictionaryVersion: Int) throws {
        let dictionary = try #require(CompressionDictionary.version(dictionaryVersion))
        let body = try BodyCodec.compress(sample, dictionary: dictionary)
        #expect(try BodyCodec.decompress(body, dictionaryVersion: dictionaryVersion) == sample)
    }

    @Test("the preset dictionary makes a small event body smaller than plain zlib")
    func dictionaryHelps() throws {
        let plain = try BodyCodec.compress(sample, dictionary: .none)
        let preset = try BodyCodec.compress(sample, dictionary: .current)
        #expect(preset.count < plain.count)
    }

    @Test("a body inflated with the wrong dictionary version is refused")
    func wrongDictionary() throws {
        let body = try BodyCodec.compress(sample, dictionary: .current)
        #expect(throws: BodyCodecError.self) { try BodyCodec.decompress(body, dictionaryVersion: 0) }
        #expect(throws: BodyCodecError.unknownDictionary(99)) { try BodyCodec.decompress(body, dictionaryVersion: 99) }
    }

    @Test("truncated, flipped and trailing bytes are refused, never returned as a payload")
    func corruptBodies() throws {
        let body = try BodyCodec.compress(sample, dictionary: .current)
        var flipped = body
        flipped[body.count / 2] ^= 0x55
        for corrupt in [Array(body.dropLast(3)), flipped, body + [0x00], [], [0x78]] {
            #expect(throws: BodyCodecError.self) { try BodyCodec.decompress(corrupt, dictionaryVersion: 1) }
        }
    }

    @Test("a body that inflates past 1 MiB is refused (no zip bombs)")
    func refusesBombs() throws {
        let bomb = try BodyCodec.compress([UInt8](repeating: 0x20, count: BodyCodec.maximumInflatedSize + 10), dictionary: .none)
        #expect(bomb.count < 10_000)
        #expect(throws: BodyCodecError.tooLarge(limit: BodyCodec.maximumInflatedSize)) {
            try BodyCodec.decompress(bomb, dictionaryVersion: 0)
        }
    }
}
