import NIOCore

/// Rows in PostgreSQL's `COPY … FROM STDIN` text format: columns separated by a tab, rows by a newline, `\N` for
/// NULL, backslash escapes in text, bytea as `\\x` and hex.
enum CopyText {
    enum Kind: Sendable { case text, int, bytes, flag }

    enum Value {
        case text(String?)
        case int(Int64?)
        case bytes([UInt8]?)
        case flag(Bool)
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    static func row(_ values: [Value], into buffer: inout ByteBuffer) {
        for (index, value) in values.enumerated() {
            if index > 0 { buffer.writeInteger(UInt8(ascii: "\t")) }
            switch value {
            case .text(nil), .int(nil), .bytes(nil): buffer.writeStaticString("\\N")
            case .text(let text?):
                for byte in text.utf8 {
                    switch byte {
                    case UInt8(ascii: "\\"): buffer.writeStaticString("\\\\")
                    case UInt8(ascii: "\t"): buffer.writeStaticString("\\t")
                    case UInt8(ascii: "\n"): buffer.writeStaticString("\\n")
                    case UInt8(ascii: "\r"): buffer.writeStaticString("\\r")
                    default: buffer.writeInteger(byte)
                    }
                }
            case .int(let number?): buffer.writeString(String(number))
            case .flag(let flag): buffer.writeStaticString(flag ? "t" : "f")
            case .bytes(let bytes?):
                buffer.writeStaticString("\\\\x")
                buffer.reserveCapacity(minimumWritableBytes: bytes.count * 2)
                for byte in bytes {
                    buffer.writeInteger(hexDigits[Int(byte >> 4)])
                    buffer.writeInteger(hexDigits[Int(byte & 0x0F)])
                }
            }
        }
        buffer.writeInteger(UInt8(ascii: "\n"))
    }
}
