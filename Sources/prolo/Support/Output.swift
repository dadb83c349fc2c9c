import Foundation
import ProloDomain
import ProloStore

/// Renders store values for people (one line each) and for machines (`--json`).
enum Output {
    /// Compact JSON text of a value (canonical form: sorted keys).
    static func json(_ value: JSONValue) -> String {
        String(decoding: CanonicalJSON.encode(value), as: UTF8.self)
    }

    /// The JSON object of a stored event, with its payload inflated and parsed.
    static func eventObject(_ stored: StoredEvent) throws -> JSONValue {
        let event = stored.event
        let payload: JSONValue
        do {
            payload = try JSONParser.parse(try event.payloadBytes())
        } catch {
            throw Failure(.ioError, "event \(event.id) (seq \(stored.seq)) has an unreadable body: \(error)")
        }
        return .object([
            "seq": .int(stored.seq),
            "id": .string(event.id.text),
            "origin": .string(event.origin.text),
            "originSeq": .int(event.originSeq),
            "prev": event.prev.map { .string($0.hex) } ?? .null,
            "patientPrev": event.patientPrev.map { .string($0.hex) } ?? .null,
            "hlc": .string(event.hlc.description),
            "occurredAt": .string(event.occurredAt.text),
            "receivedAt": .string(stored.receivedAt.text),
            "patient": event.patient.map { .string($0.text) } ?? .null,
            "type": .string(event.type.rawValue),
            "schemaVersion": .int(Int64(event.schemaVersion)),
            "author": .object(["id": .string(event.author.id.text), "role": .string(event.author.role.rawValue)]),
            "dict": .int(Int64(event.dictionary)),
            "bodyBytes": .int(Int64(event.body.count)),
            "hash": .string(event.hash.hex),
            "sig": .string(Data(event.signature).base64EncodedString()),
            "payload": payload,
        ])
    }

    /// One line: local seq, occurred time, type, patient, origin, short hash.
    static func line(_ stored: StoredEvent) -> String {
        let event = stored.event
        let columns = [
            pad(String(stored.seq), 6, right: true),
            pad(event.occurredAt.text, 24),
            pad(event.type.rawValue, 24),
            pad(event.patient?.text ?? "-", 14),
            pad(String(event.origin.text.prefix(12)) + "/\(event.originSeq)", 18),
            event.hash.short,
        ]
        return columns.joined(separator: "  ")
    }

    static func pad(_ text: String, _ width: Int, right: Bool = false) -> String {
        guard text.count < width else { return text }
        let padding = String(repeating: " ", count: width - text.count)
        return right ? padding + text : text + padding
    }
}
