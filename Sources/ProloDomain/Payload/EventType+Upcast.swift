extension EventType {
    /// Maps a payload of an older schema `version` onto the current version's shape, refusing what that version did
    /// not allow (a field or value added later). The stored event is never rewritten: this runs on every read.
    ///
    /// - exam.recorded v1 → v2: v2's new facts (body weight, anticoagulant or antiplatelet use, bleeding disorder,
    ///   allergies) are absent, meaning "not recorded".
    /// - side-effect.reported v1 → v2: no local signs recorded; the kind `chest-pain` did not exist.
    /// - alert.cleared v1 → v2: the same payload; v1 names only the alert kinds it had.
    public func upcast(_ payload: JSONValue, from version: Int) throws(PayloadError) -> JSONValue {
        let current = payloadType.schemaVersion
        guard version != current else { return payload }
        guard (1..<current).contains(version) else {
            throw PayloadError(
                .unknownType, path: "schemaVersion",
                "\(rawValue) schema version \(version) is not known to this build (it reads \(readableSchemaVersions))")
        }
        guard case .object(let members) = payload else {
            throw PayloadError(path: "$", "the payload must be a JSON object, not \(payload.typeName)")
        }
        switch (self, version) {
        case (.examRecorded, 1):
            try Self.refuse(
                ["bodyWeightKg", "anticoagulantOrAntiplatelet", "bleedingDisorder", "allergies"], in: members, of: self,
                version)
        case (.sideEffectReported, 1):
            try Self.refuse(["localSigns"], in: members, of: self, version)
            if case .array(let kinds)? = members["kinds"], let position = kinds.firstIndex(of: .string("chest-pain")) {
                throw PayloadError(path: "$.kinds[\(position)]", "\"chest-pain\" is not a kind in \(rawValue) v1")
            }
        case (.alertCleared, 1):
            if case .string(let kind)? = members["alertKind"], !Self.alertKindsV1.contains(kind) {
                throw PayloadError(path: "$.alertKind", "\"\(kind)\" is not an alert kind in \(rawValue) v1")
            }
        default:
            break
        }
        return payload
    }

    /// The alert kinds `alert.cleared` v1 names.
    static let alertKindsV1: Set<String> = [
        "possible-infection", "neurological-red-flag", "serious-adverse-event", "no-improvement", "session-too-soon",
        "session-cap", "injection-while-red-flag", "injection-without-consent", "fork-detected", "merge-review",
    ]

    private static func refuse(
        _ keys: [String], in members: [String: JSONValue], of type: EventType, _ version: Int
    ) throws(PayloadError) {
        for key in keys where members[key] != nil {
            throw PayloadError(
                path: "$.\(key)", "unknown field \"\(key)\" is not allowed in \(type.rawValue) v\(version)")
        }
    }
}
