/// Decodes `Decodable` values straight from a parsed ``JSONValue``, and remembers which members of each object were
/// read, so that a payload's unknown fields are found without encoding it back.
///
/// It follows Foundation's `JSONDecoder` where payloads can tell: a missing key is `keyNotFound`, `null` where a
/// value belongs is `valueNotFound`, a JSON type other than the one asked for is `typeMismatch` at the value's own
/// coding path (an integral number such as `2.0` is an integer, as JSON Schema counts it), `decodeIfPresent` of a
/// `null` member is `nil`. It replaces a round trip through canonical bytes, Foundation's decoder, Foundation's
/// encoder and the parser that cost more than half of a signature check per received event (BENCHMARKS.md).
struct JSONValueDecoder {
    /// The members read of each object, by the object's JSON path; and the members read as absent-or-null.
    final class Reads {
        /// The keys of one object read so far, and those read as absent-or-null.
        final class Object {
            var members: Set<String> = []
            var nulls: Set<String> = []
        }

        /// By the object's JSON path: looked up once per object decoded, not once per member.
        var objects: [String: Object] = [:]

        func object(at path: String) -> Object {
            if let known = objects[path] { return known }
            let object = Object()
            objects[path] = object
            return object
        }
    }

    let reads = Reads()

    /// Decodes a value of `type` from `value`.
    func decode<Value: Decodable>(_ type: Value.Type, from value: JSONValue) throws -> Value {
        try Value(from: ValueDecoder(value: value, codingPath: [], reads: reads))
    }

    /// The first member, in sorted key order depth first, that no decoding read (`unknown`), or that was read as
    /// absent while present as `null` (`null`): both are fields the schema does not allow.
    func firstUnread(in value: JSONValue, path: String = "$") -> (path: String, key: String, isNull: Bool)? {
        switch value {
        case .object(let members):
            let read = reads.objects[path]?.members ?? []
            let readAsAbsent = reads.objects[path]?.nulls ?? []
            for key in members.keys.sorted() {
                let member = members[key]!
                let memberPath = path + "." + key
                if readAsAbsent.contains(key), case .null = member { return (memberPath, key, true) }
                guard read.contains(key) else {
                    if case .null = member { return (memberPath, key, true) }
                    return (memberPath, key, false)
                }
                if let found = firstUnread(in: member, path: memberPath) { return found }
            }
            return nil
        case .array(let elements):
            for (position, element) in elements.enumerated() {
                if let found = firstUnread(in: element, path: path + "[\(position)]") { return found }
            }
            return nil
        default:
            return nil
        }
    }
}

/// A key for array positions and the coding path of nested values.
private struct PositionKey: CodingKey {
    let stringValue: String
    let intValue: Int?

    init(_ position: Int) {
        stringValue = "Index \(position)"
        intValue = position
    }

    init?(stringValue: String) {
        self.stringValue = stringValue
        intValue = nil
    }

    init?(intValue: Int) {
        self.init(intValue)
    }
}

private struct ValueDecoder: Decoder {
    let value: JSONValue
    let codingPath: [any CodingKey]
    let reads: JSONValueDecoder.Reads
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let members) = value else {
            throw mismatch([String: Any].self, codingPath, value)
        }
        return KeyedDecodingContainer(
            KeyedContainer<Key>(
                members: members, codingPath: codingPath, reads: reads,
                read: reads.object(at: PayloadError.jsonPath(codingPath))))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .array(let elements) = value else { throw mismatch([Any].self, codingPath, value) }
        return UnkeyedContainer(elements: elements, codingPath: codingPath, reads: reads)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        SingleContainer(value: value, codingPath: codingPath, reads: reads)
    }
}

private func mismatch(_ type: Any.Type, _ path: [any CodingKey], _ value: JSONValue) -> DecodingError {
    if case .null = value {
        return .valueNotFound(type, .init(codingPath: path, debugDescription: "found null"))
    }
    return .typeMismatch(type, .init(codingPath: path, debugDescription: "found \(value.typeName)"))
}

/// Decodes one JSON value as a primitive, or as any `Decodable` through a nested decoder.
///
/// The coding path is built only when it is needed (an error, or a nested decoder): building it for every member
/// was a tenth of decoding a payload.
private func decodeValue<Value: Decodable>(
    _ type: Value.Type, _ value: JSONValue, _ lazyPath: @autoclosure () -> [any CodingKey],
    _ reads: JSONValueDecoder.Reads
) throws -> Value {
    switch type {
    case is String.Type:
        guard case .string(let text) = value else { throw mismatch(type, lazyPath(), value) }
        return text as! Value
    case is Bool.Type:
        guard case .bool(let flag) = value else { throw mismatch(type, lazyPath(), value) }
        return flag as! Value
    case is Double.Type:
        switch value {
        case .int(let number): return Double(number) as! Value
        case .double(let number): return number as! Value
        default: throw mismatch(type, lazyPath(), value)
        }
    case is Float.Type:
        switch value {
        case .int(let number): return Float(number) as! Value
        case .double(let number): return Float(number) as! Value
        default: throw mismatch(type, lazyPath(), value)
        }
    case let integer as any FixedWidthInteger.Type:
        guard let number = value.integerValue else { throw mismatch(type, lazyPath(), value) }
        guard let exact = integer.init(exactly: number) else { throw mismatch(type, lazyPath(), value) }
        return exact as! Value
    default:
        return try Value(from: ValueDecoder(value: value, codingPath: lazyPath(), reads: reads))
    }
}

private struct KeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let members: [String: JSONValue]
    let codingPath: [any CodingKey]
    let reads: JSONValueDecoder.Reads
    /// What of this object was read (remembered under its JSON path).
    let read: JSONValueDecoder.Reads.Object

    var allKeys: [Key] { members.keys.compactMap { Key(stringValue: $0) } }

    func contains(_ key: Key) -> Bool { members[key.stringValue] != nil }

    private func member(_ key: Key) throws -> JSONValue {
        guard let value = members[key.stringValue] else {
            throw DecodingError.keyNotFound(
                key, .init(codingPath: codingPath, debugDescription: "no value for key \(key.stringValue)"))
        }
        read.members.insert(key.stringValue)
        return value
    }

    func decodeNil(forKey key: Key) throws -> Bool {
        guard case .null = try member(key) else { return false }
        return true
    }

    func decode<Value: Decodable>(_ type: Value.Type, forKey key: Key) throws -> Value {
        try decodeValue(type, try member(key), codingPath + [key], reads)
    }

    func decodeIfPresent<Value: Decodable>(_ type: Value.Type, forKey key: Key) throws -> Value? {
        guard let value = members[key.stringValue] else { return nil }
        if case .null = value {
            read.nulls.insert(key.stringValue)
            return nil
        }
        read.members.insert(key.stringValue)
        return try decodeValue(type, value, codingPath + [key], reads)
    }

    // The primitives a payload is made of, without the generic path's dynamic casts.
    func decode(_ type: String.Type, forKey key: Key) throws -> String {
        let value = try member(key)
        guard case .string(let text) = value else { throw mismatch(type, codingPath + [key], value) }
        return text
    }

    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool {
        let value = try member(key)
        guard case .bool(let flag) = value else { throw mismatch(type, codingPath + [key], value) }
        return flag
    }

    func decode(_ type: Int.Type, forKey key: Key) throws -> Int {
        let value = try member(key)
        guard let number = value.integerValue, let exact = Int(exactly: number) else {
            throw mismatch(type, codingPath + [key], value)
        }
        return exact
    }

    func decode(_ type: Double.Type, forKey key: Key) throws -> Double {
        switch try member(key) {
        case .int(let number): return Double(number)
        case .double(let number): return number
        case let other: throw mismatch(type, codingPath + [key], other)
        }
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws
        -> KeyedDecodingContainer<NestedKey>
    {
        try ValueDecoder(value: try member(key), codingPath: codingPath + [key], reads: reads).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try ValueDecoder(value: try member(key), codingPath: codingPath + [key], reads: reads).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder {
        ValueDecoder(value: members["super"] ?? .null, codingPath: codingPath, reads: reads)
    }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        ValueDecoder(value: try member(key), codingPath: codingPath + [key], reads: reads)
    }
}

private struct UnkeyedContainer: UnkeyedDecodingContainer {
    let elements: [JSONValue]
    let codingPath: [any CodingKey]
    let reads: JSONValueDecoder.Reads
    private(set) var currentIndex = 0

    init(elements: [JSONValue], codingPath: [any CodingKey], reads: JSONValueDecoder.Reads) {
        self.elements = elements
        self.codingPath = codingPath
        self.reads = reads
    }

    var count: Int? { elements.count }
    var isAtEnd: Bool { currentIndex >= elements.count }

    private mutating func next(_ type: Any.Type) throws -> (JSONValue, [any CodingKey]) {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(
                type, .init(codingPath: codingPath + [PositionKey(currentIndex)], debugDescription: "the array ends"))
        }
        defer { currentIndex += 1 }
        return (elements[currentIndex], codingPath + [PositionKey(currentIndex)])
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd, case .null = elements[currentIndex] else { return false }
        currentIndex += 1
        return true
    }

    mutating func decode<Value: Decodable>(_ type: Value.Type) throws -> Value {
        let (value, path) = try next(type)
        return try decodeValue(type, value, path, reads)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws
        -> KeyedDecodingContainer<NestedKey>
    {
        let (value, path) = try next([String: Any].self)
        return try ValueDecoder(value: value, codingPath: path, reads: reads).container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        let (value, path) = try next([Any].self)
        return try ValueDecoder(value: value, codingPath: path, reads: reads).unkeyedContainer()
    }

    mutating func superDecoder() throws -> any Decoder {
        let (value, path) = try next(Any.self)
        return ValueDecoder(value: value, codingPath: path, reads: reads)
    }
}

private struct SingleContainer: SingleValueDecodingContainer {
    let value: JSONValue
    let codingPath: [any CodingKey]
    let reads: JSONValueDecoder.Reads

    func decodeNil() -> Bool {
        if case .null = value { return true }
        return false
    }

    func decode<Value: Decodable>(_ type: Value.Type) throws -> Value {
        try decodeValue(type, value, codingPath, reads)
    }
}
