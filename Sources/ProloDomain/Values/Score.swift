/// The range of an integer clinical scale, used as the type parameter of ``Score``.
public protocol IntegerScale: Sendable {
    /// Allowed values, inclusive.
    static var range: ClosedRange<Int> { get }
}

/// An integer on a bounded clinical scale (NRS 0–10, ODI 0–100, CTCAE grade 1–5 …).
///
/// Decoding refuses a value outside the scale, naming the field, so no out-of-range score reaches the store.
public struct Score<Scale: IntegerScale>: Sendable, Hashable, Comparable, Codable, ExpressibleByIntegerLiteral {
    /// The score.
    public let value: Int

    /// Makes a score, refusing a value outside the scale.
    public init(checked value: Int) throws(PayloadError) {
        guard Scale.range.contains(value) else {
            throw PayloadError(path: "$", "\(value) is outside \(Scale.range.lowerBound)…\(Scale.range.upperBound)")
        }
        self.value = value
    }

    /// A score written in code; out-of-range literals are programming errors.
    public init(integerLiteral value: Int) {
        precondition(Scale.range.contains(value), "\(value) is outside \(Scale.range)")
        self.value = value
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let value = try container.decode(Int.self)
        guard Scale.range.contains(value) else {
            throw DecodingError.dataCorruptedError(
                in: container,
                debugDescription: "\(value) is outside the allowed range \(Scale.range.lowerBound)…\(Scale.range.upperBound)"
            )
        }
        self.value = value
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(value)
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.value < rhs.value }
}

/// Numeric rating scale of pain, 0 (none) to 10 (worst imaginable).
public enum NRSScale: IntegerScale { public static let range = 0...10 }
/// Oswestry Disability Index, 0–100 %.
public enum ODIScale: IntegerScale { public static let range = 0...100 }
/// Visual analogue scale in millimetres, 0–100.
public enum VASScale: IntegerScale { public static let range = 0...100 }
/// Roland-Morris disability questionnaire, 0–24.
public enum RolandMorrisScale: IntegerScale { public static let range = 0...24 }
/// CTCAE adverse-event grade, 1 (mild) to 5 (death).
public enum CTCAEGradeScale: IntegerScale { public static let range = 1...5 }
/// Ligament tenderness on palpation, 0 (none) to 3 (severe).
public enum TendernessScale: IntegerScale { public static let range = 0...3 }
/// Sessions in a prolotherapy course: 1 to the protocol cap of 12.
public enum SessionCountScale: IntegerScale { public static let range = 1...12 }
/// Weeks between sessions: 1 to 26.
public enum IntervalWeeksScale: IntegerScale { public static let range = 1...26 }
/// Needle gauge: 18 G to 33 G.
public enum NeedleGaugeScale: IntegerScale { public static let range = 18...33 }
/// Needle passes at one site: 1 to 20.
public enum NeedlePassesScale: IntegerScale { public static let range = 1...20 }
/// Range-of-motion angle in degrees: 0 to 180.
public enum DegreesScale: IntegerScale { public static let range = 0...180 }
