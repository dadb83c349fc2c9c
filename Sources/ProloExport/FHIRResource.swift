public import ProloDomain

/// One FHIR resource of an export: its type, stable id, members, and how many versions the log holds of it.
///
/// Its id is the UUID of the event it was made from, or `<uuid>-<part>` when one event makes several; a Device's is
/// its origin (the fingerprint of its key), since the clinic's root device has no enrollment event.
public struct FHIRResource: Sendable, Hashable {
    /// The resource type (`Observation`).
    public let type: String
    /// The stable id.
    public let id: String
    /// Members other than `resourceType`, `id` and `meta`.
    public var body: FHIRObject
    /// `meta.versionId`: 1, plus one for each event that changed it (an amendment, a resolution, a cancellation …).
    public var version: Int
    /// `meta.lastUpdated`: the recording time of the last event that made or changed it.
    public var lastUpdated: HLC

    /// Makes a resource at version 1.
    public init(type: String, id: String, body: FHIRObject, lastUpdated: HLC, version: Int = 1) {
        self.type = type
        self.id = id
        self.body = body
        self.version = version
        self.lastUpdated = lastUpdated
    }

    /// `Type/id`, the literal reference to it inside a Bundle.
    public var key: String { type + "/" + id }

    /// The resource as JSON, with `resourceType`, `id` and `meta`.
    public var json: JSONValue {
        var members = body
        members["resourceType"] = .string(type)
        members["id"] = .string(id)
        members["meta"] = .object([
            "versionId": .string(String(version)), "lastUpdated": .string(FHIRElement.instant(lastUpdated)),
        ])
        return .object(members)
    }

    /// Records that `event` changed it: one version more, and its recording time as the last update.
    mutating func changed(by event: Event) {
        version += 1
        lastUpdated = max(lastUpdated, event.hlc)
    }
}
