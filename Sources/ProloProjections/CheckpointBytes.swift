/// The compact byte format of a stored ``FoldCheckpoint``: integers as zigzag varints, strings and lists with
/// their length first, optionals behind a presence byte, doubles as their 8-byte bit pattern, dictionaries and sets
/// in key order so that equal values give equal bytes.
struct CheckpointWriter {
    private(set) var bytes: [UInt8] = []

    init(capacity: Int) {
        bytes.reserveCapacity(capacity)
    }

    mutating func int(_ value: Int64) {
        var rest = UInt64(bitPattern: (value << 1) ^ (value >> 63))
        while rest >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(rest))
    }

    mutating func int(_ value: Int) { int(Int64(value)) }

    mutating func bool(_ value: Bool) { bytes.append(value ? 1 : 0) }

    mutating func double(_ value: Double) {
        let pattern = value.bitPattern
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: pattern >> UInt64(shift))) }
    }

    mutating func string(_ value: String) {
        let utf8 = value.utf8
        int(utf8.count)
        bytes.append(contentsOf: utf8)
    }

    mutating func optional<Value>(_ value: Value?, _ write: (inout CheckpointWriter, Value) -> Void) {
        guard let value else { return bytes.append(0) }
        bytes.append(1)
        write(&self, value)
    }

    mutating func list<Element>(_ elements: some Collection<Element>, _ write: (inout CheckpointWriter, Element) -> Void) {
        int(elements.count)
        for element in elements { write(&self, element) }
    }

    mutating func strings(_ set: Set<String>) {
        list(set.sorted()) { $0.string($1) }
    }

    mutating func dictionary<Value>(_ dictionary: [String: Value], _ write: (inout CheckpointWriter, Value) -> Void) {
        list(dictionary.keys.sorted()) { writer, key in
            writer.string(key)
            write(&writer, dictionary[key]!)
        }
    }
}

/// Reads what ``CheckpointWriter`` wrote; anything out of shape is ``CheckpointDamage``.
struct CheckpointReader {
    private let bytes: [UInt8]
    private var offset = 0

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    var isAtEnd: Bool { offset == bytes.count }

    mutating func byte() throws(CheckpointDamage) -> UInt8 {
        guard offset < bytes.count else { throw CheckpointDamage() }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func int() throws(CheckpointDamage) -> Int64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let next = try byte()
            guard shift < 64 else { throw CheckpointDamage() }
            result |= UInt64(next & 0x7F) << shift
            if next < 0x80 { break }
            shift += 7
        }
        return Int64(bitPattern: result >> 1) ^ -Int64(bitPattern: result & 1)
    }

    mutating func smallInt() throws(CheckpointDamage) -> Int {
        let value = try int()
        guard let small = Int(exactly: value) else { throw CheckpointDamage() }
        return small
    }

    mutating func count() throws(CheckpointDamage) -> Int {
        let value = try smallInt()
        guard value >= 0, value <= bytes.count - offset else { throw CheckpointDamage() }
        return value
    }

    mutating func bool() throws(CheckpointDamage) -> Bool {
        switch try byte() {
        case 0: return false
        case 1: return true
        default: throw CheckpointDamage()
        }
    }

    mutating func double() throws(CheckpointDamage) -> Double {
        var pattern: UInt64 = 0
        for _ in 0..<8 { pattern = pattern << 8 | UInt64(try byte()) }
        return Double(bitPattern: pattern)
    }

    mutating func string() throws(CheckpointDamage) -> String {
        let length = try count()
        defer { offset += length }
        return String(decoding: bytes[offset..<offset + length], as: UTF8.self)
    }

    mutating func optional<Value>(_ read: (inout CheckpointReader) throws(CheckpointDamage) -> Value)
        throws(CheckpointDamage) -> Value?
    {
        try bool() ? try read(&self) : nil
    }

    mutating func list<Element>(_ read: (inout CheckpointReader) throws(CheckpointDamage) -> Element)
        throws(CheckpointDamage) -> [Element]
    {
        let count = try count()
        var elements: [Element] = []
        elements.reserveCapacity(count)
        for _ in 0..<count { elements.append(try read(&self)) }
        return elements
    }

    mutating func strings() throws(CheckpointDamage) -> Set<String> {
        Set(try list { (reader: inout CheckpointReader) throws(CheckpointDamage) in try reader.string() })
    }

    mutating func dictionary<Value>(_ read: (inout CheckpointReader) throws(CheckpointDamage) -> Value)
        throws(CheckpointDamage) -> [String: Value]
    {
        var result: [String: Value] = [:]
        for _ in 0..<(try count()) {
            let key = try string()
            result[key] = try read(&self)
        }
        return result
    }
}

/// A stored checkpoint is not in the shape ``CheckpointWriter`` writes.
struct CheckpointDamage: Error {}
