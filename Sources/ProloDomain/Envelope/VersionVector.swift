/// What a store holds, summarised: for each origin, the highest `originSeq` held (all lower ones are held too).
public struct VersionVector: Sendable, Hashable, Codable {
    /// Origin id → highest contiguous `originSeq` held.
    public private(set) var heads: [String: Int64]

    /// A vector from its heads.
    public init(heads: [String: Int64] = [:]) {
        self.heads = heads.filter { $0.value > 0 }
    }

    /// The highest `originSeq` held for `origin` (0 when none).
    public subscript(origin: String) -> Int64 { heads[origin] ?? 0 }

    /// Records that `origin` is held up to `seq`.
    public mutating func advance(_ origin: String, to seq: Int64) {
        if seq > self[origin] { heads[origin] = seq }
    }

    /// For each origin where `self` holds more than `other`, the range `other` is missing.
    public func missing(from other: VersionVector) -> [String: ClosedRange<Int64>] {
        var result: [String: ClosedRange<Int64>] = [:]
        for (origin, seq) in heads where seq > other[origin] {
            result[origin] = (other[origin] + 1)...seq
        }
        return result
    }

    /// Total events counted by the vector, saturating at `Int64.max` (a vector read from a file may hold any heads).
    public var eventCount: Int64 {
        heads.values.reduce(0) { total, seq in
            let (sum, overflow) = total.addingReportingOverflow(seq)
            return overflow ? .max : sum
        }
    }
}

extension VersionVector {
    /// The vector as a JSON object `{origin: originSeq}` (the form `prolo vector --json` prints).
    public var jsonValue: JSONValue {
        .object(heads.mapValues { .int($0) })
    }

    /// Reads a JSON object `{origin: originSeq}`; anything else is refused with the key at fault.
    public init(json bytes: [UInt8]) throws(PayloadError) {
        let value: JSONValue
        do {
            value = try JSONParser.parse(bytes)
        } catch {
            throw PayloadError(path: "$", "a version vector is a JSON object {origin: originSeq}: \(error)")
        }
        guard let members = value.objectValue else {
            throw PayloadError(path: "$", "a version vector is a JSON object {origin: originSeq}, not \(value.typeName)")
        }
        var heads: [String: Int64] = [:]
        for (origin, seq) in members {
            guard IdentifierRule.allows(origin), let number = seq.integerValue, number >= 0 else {
                throw PayloadError(path: "$.\(origin)", "expected an origin id with a non-negative integer originSeq")
            }
            heads[origin] = number
        }
        self.init(heads: heads)
    }
}
