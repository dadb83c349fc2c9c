// Placeholder until Tools/build-dictionary.py generates this file from the catalog examples.
extension CompressionDictionary {
    /// Dictionary version 1.
    public static let v1 = CompressionDictionary(version: 1, bytes: Array("{\"author\":".utf8))
}
