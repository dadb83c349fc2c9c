/// Why this build cannot read a validly signed event's payload (DESIGN §6 "Verified").
///
/// Such an event is authentic history: its device signed it, so a receiver holds it in the log (its origin's
/// chain stays whole and later events still arrive), flags it with ``kind``, leaves it out of every
/// projection and shows it to the clinic for review. The judgement is this build's: a later build that reads
/// the schema version folds the event on `rebuild`.
public struct UnreadablePayload: Sendable, Hashable, CustomStringConvertible {
    /// The flag a store records; the rawValues are part of the published contract (`Schemas/envelope.md`).
    public enum Kind: String, Sendable, CaseIterable {
        /// The body does not inflate, is not JSON, breaks its type's schema, or the envelope and type disagree
        /// about whether the event concerns a patient.
        case invalidPayload = "invalid-payload"
        /// The schema version is newer (or other) than this build's catalog reads.
        case unknownSchemaVersion = "unknown-schema-version"
    }

    /// What is wrong.
    public let kind: Kind
    /// Where and why, in words an operator can act on (a JSON path where there is one).
    public let detail: String

    public init(_ kind: Kind, _ detail: String) {
        self.kind = kind
        self.detail = detail
    }

    public var description: String { "\(kind.rawValue): \(detail)" }
}

extension Event {
    /// `nil` when this build reads the payload: a known schema version, a body that inflates and validates
    /// against its type's schema, and a patient exactly when the type is clinical. Otherwise why not.
    ///
    /// Inflates and decodes the body, so it costs about as much as ``payload()``; it never throws.
    public var unreadablePayload: UnreadablePayload? {
        guard type.readableSchemaVersions.contains(schemaVersion) else {
            return UnreadablePayload(
                .unknownSchemaVersion,
                "\(type.rawValue) schema version \(schemaVersion) is not known to this build (it reads "
                    + "\(type.readableSchemaVersions.lowerBound)…\(type.readableSchemaVersions.upperBound))")
        }
        if type.isAdministrative, let patient {
            return UnreadablePayload(.invalidPayload, "\(type.rawValue) is administrative but names patient \(patient)")
        }
        if !type.isAdministrative, patient == nil {
            return UnreadablePayload(.invalidPayload, "\(type.rawValue) must name the patient it is about")
        }
        let bytes: [UInt8]
        do {
            bytes = try payloadBytes()
        } catch {
            return UnreadablePayload(.invalidPayload, "the body does not inflate: \(error)")
        }
        do {
            _ = try type.decodePayload(from: bytes, schemaVersion: schemaVersion)
        } catch {
            return UnreadablePayload(.invalidPayload, "\(error.path): \(error.message)")
        }
        return nil
    }
}
