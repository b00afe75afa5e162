/// An exact fraction, used for time bases, frame rates and aspect ratios.
///
/// Thread-safety: Safe (a value type).
public struct Rational: Hashable, Sendable, CustomStringConvertible {
    public var numerator: Int64
    public var denominator: Int64

    public init(_ numerator: Int64, _ denominator: Int64) {
        self.numerator = numerator
        self.denominator = denominator
    }

    /// False for `0/0`, `n/0` and negative values, which FFmpeg uses for "unknown".
    public var isValid: Bool { numerator > 0 && denominator > 0 }

    /// The value as a `Double`, for display and for ratios that are never accumulated.
    public var doubleValue: Double { Double(numerator) / Double(denominator) }

    public var description: String { "\(numerator)/\(denominator)" }
}
