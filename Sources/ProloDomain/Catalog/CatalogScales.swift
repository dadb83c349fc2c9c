// Value rules that only the clinical catalog needs. Each mirrors a `pattern` of the JSON Schemas in
// `Schemas/events/` exactly, so Swift and any schema validator accept the same texts.

/// An ICD-10 code: a capital letter, two digits, and optionally a dot and 1–4 digits or capitals
/// (`M54.50`, `M53.2X7`), as the schema pattern `^[A-Z][0-9]{2}(\.[0-9A-Z]{1,4})?$`.
public enum ICD10CodeRule: TextRule {
    public static let expectation =
        "an ICD-10 code like M54.50 (a capital letter, two digits, optionally a dot and 1–4 digits or capitals)"

    /// Whether `text` is an ICD-10 code.
    public static func allows(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count == 3 || (5...8).contains(bytes.count) else { return false }
        guard isCapital(bytes[0]), isDigit(bytes[1]), isDigit(bytes[2]) else { return false }
        guard bytes.count > 3 else { return true }
        return bytes[3] == UInt8(ascii: ".") && bytes[4...].allSatisfy { isDigit($0) || isCapital($0) }
    }

    private static func isDigit(_ byte: UInt8) -> Bool { (0x30...0x39).contains(byte) }
    private static func isCapital(_ byte: UInt8) -> Bool { (0x41...0x5A).contains(byte) }
}

/// A 32-byte Ed25519 public key in canonical standard base64 (44 characters ending in one `=`),
/// as the schema pattern `^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$`.
///
/// The 43rd character carries the key's last 4 bits and 2 zero padding bits, so only 16 letters
/// may stand there: that keeps exactly one text per key.
public enum PublicKeyBase64Rule: TextRule {
    /// What a public key looks like, for messages.
    public static let expectation = "a 32-byte Ed25519 public key in base64 (44 characters ending in '=')"

    /// Whether `text` is a canonical base64 Ed25519 public key.
    public static func allows(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count == 44, bytes[43] == UInt8(ascii: "=") else { return false }
        guard bytes[0..<42].allSatisfy(isBase64) else { return false }
        return Array("AEIMQUYcgkosw048".utf8).contains(bytes[42])
    }

    private static func isBase64(_ byte: UInt8) -> Bool {
        (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) || (0x30...0x39).contains(byte)
            || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "/")
    }
}

/// An ICD-10 diagnosis code such as `M54.50`.
public typealias ICD10Code = Checked<ICD10CodeRule>
/// A device's Ed25519 public key, base64-encoded.
public typealias PublicKeyBase64 = Checked<PublicKeyBase64Rule>
