/// What a ``VersionVector`` cannot say: per origin, the hash of the event a store holds at the vector's position,
/// and the lowest position at which it holds proof of a fork (DESIGN §6 "Forks are caught").
///
/// Two stores that hold two branches of one origin (a device restored from a backup appended again) announce the
/// same `originSeq`; their head hashes differ. A sender whose own event at the receiver's head differs sends its
/// branch, so the receiver finds the fork; a sender that knows of a fork at a lower position than the receiver
/// announces sends its evidence (`Schemas/sync.md`).
public struct ChainHeads: Sendable, Hashable {
    /// Origin id → hash of the event held at the position the vector names.
    public var hashes: [String: EventHash]
    /// Origin id → lowest `originSeq` at which the store holds fork evidence.
    public var forkedAt: [String: Int64]

    public init(hashes: [String: EventHash] = [:], forkedAt: [String: Int64] = [:]) {
        self.hashes = hashes
        self.forkedAt = forkedAt
    }

    /// Whether nothing is known (an older peer sends no heads: it is served by the vector alone, as before).
    public var isEmpty: Bool { hashes.isEmpty && forkedAt.isEmpty }

    /// `{"hashes": {origin: hex}, "forkedAt": {origin: originSeq}}`.
    public var jsonValue: JSONValue {
        .object([
            "hashes": .object(hashes.mapValues { .string($0.hex) }),
            "forkedAt": .object(forkedAt.mapValues { .int($0) }),
        ])
    }

    /// Reads ``jsonValue``; anything else is refused with the path at fault.
    public init(json value: JSONValue) throws(PayloadError) {
        guard let members = value.objectValue else {
            throw PayloadError(path: "$", "chain heads are a JSON object {hashes, forkedAt}, not \(value.typeName)")
        }
        for key in ["hashes", "forkedAt"] where members[key] != nil && members[key]?.objectValue == nil {
            throw PayloadError(path: "$.\(key)", "expected a JSON object keyed by origin id")
        }
        var hashes: [String: EventHash] = [:]
        var forkedAt: [String: Int64] = [:]
        for (origin, hash) in members["hashes"]?.objectValue ?? [:] {
            guard IdentifierRule.allows(origin), let hex = hash.stringValue, let parsed = try? EventHash(hex: hex)
            else {
                throw PayloadError(
                    path: "$.hashes.\(origin)", "expected an origin id with a SHA-256 hash in lowercase hex")
            }
            hashes[origin] = parsed
        }
        for (origin, seq) in members["forkedAt"]?.objectValue ?? [:] {
            guard IdentifierRule.allows(origin), let number = seq.integerValue, number >= 1 else {
                throw PayloadError(path: "$.forkedAt.\(origin)", "expected an origin id with a positive originSeq")
            }
            forkedAt[origin] = number
        }
        self.init(hashes: hashes, forkedAt: forkedAt)
    }
}
