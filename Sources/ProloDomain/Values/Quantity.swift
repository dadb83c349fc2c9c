/// The bounds and unit of a measured quantity, used as the type parameter of ``Quantity``.
public protocol QuantityBounds: Sendable {
    /// Smallest allowed value.
    static var minimum: Double { get }
    /// Whether ``minimum`` itself is excluded (a volume must be above 0, not 0).
    static var minimumIsExclusive: Bool { get }
    /// Largest allowed value, inclusive.
    static var maximum: Double { get }
    /// The unit, for messages: `mL`, `mg/mL`, `°C`.
    static var unit: String { get }
}

/// A measured value in a fixed unit (mL, mg/mL, °C, mm), refused on decoding when out of bounds.
public struct Quantity<Bounds: QuantityBounds>: Sendable, Hashable, Comparable, Codable,
    ExpressibleByFloatLiteral, ExpressibleByIntegerLiteral
{
    /// The value in ``QuantityBounds/unit``.
    public let value: Double

    /// Whether `value` lies within the bounds.
    public static func allows(_ value: Double) -> Bool {
        guard value.isFinite, value <= Bounds.maximum else { return false }
        return Bounds.minimumIsExclusive ? value > Bounds.minimum : value >= Bounds.minimum
    }

    private static var boundsText: String {
        let low = Bounds.minimumIsExclusive ? "above \(Bounds.minimum)" : "at least \(Bounds.minimum)"
        return "\(low) and at most \(Bounds.maximum) \(Bounds.unit)"
    }

    /// Makes a quantity, refusing a value out of bounds.
    public init(checked value: Double) throws(PayloadError) {
        guard Self.allows(value) else { throw PayloadError(path: "$", "\(value) must be \(Self.boundsText)") }
        self.value = value
    }

    /// A quantity written in code; out-of-bounds literals are programming errors.
    public init(floatLiteral value: Double) {
        precondition(Self.allows(value), "\(value) out of bounds")
        self.value = value
    }

    /// A quantity written in code as a whole number.
    public init(integerLiteral value: Int) {
        self.init(floatLiteral: Double(value))
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let value = try container.decode(Double.self)
        guard Self.allows(value) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "\(value) must be \(Self.boundsText)")
        }
        self.value = value
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(value)
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.value < rhs.value }
}

/// Injected volume in millilitres: above 0, at most 50 mL.
public enum Millilitres: QuantityBounds {
    public static let minimum = 0.0, minimumIsExclusive = true, maximum = 50.0, unit = "mL"
}
/// Body weight in kilograms: above 0, at most 400 kg.
public enum Kilograms: QuantityBounds {
    public static let minimum = 0.0, minimumIsExclusive = true, maximum = 400.0, unit = "kg"
}
/// Concentration in milligrams per millilitre: 0 to 1000 mg/mL.
public enum MilligramsPerMillilitre: QuantityBounds {
    public static let minimum = 0.0, minimumIsExclusive = false, maximum = 1000.0, unit = "mg/mL"
}
/// Body temperature in degrees Celsius: 30 to 45 °C.
public enum DegreesCelsius: QuantityBounds {
    public static let minimum = 30.0, minimumIsExclusive = false, maximum = 45.0, unit = "°C"
}
/// Needle length in millimetres: above 0, at most 200 mm.
public enum Millimetres: QuantityBounds {
    public static let minimum = 0.0, minimumIsExclusive = true, maximum = 200.0, unit = "mm"
}
