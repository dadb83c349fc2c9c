/// A versioned zlib preset dictionary: common substrings of representative events, so small JSON bodies compress well.
///
/// The version is stored with every event (`dict` column, signed in the envelope); a dictionary, once
/// shipped, never changes, so old bodies always inflate. Version 0 means no dictionary.
public struct CompressionDictionary: Sendable, Hashable {
    /// The version stored in the `dict` column and the envelope.
    public let version: Int
    /// The dictionary bytes (empty for version 0).
    public let bytes: [UInt8]

    /// No preset dictionary: plain zlib.
    public static let none = CompressionDictionary(version: 0, bytes: [])

    /// The dictionary new events are compressed with.
    public static var current: CompressionDictionary { v1 }

    /// Every dictionary this build can inflate, by version.
    public static func version(_ version: Int) -> CompressionDictionary? {
        switch version {
        case 0: CompressionDictionary.none
        case 1: v1
        default: nil
        }
    }
}
