public import ProloDomain
import Foundation

/// The signed header of a bundle file: who cut it, for which clinic and scope, and against which vector.
///
/// Carried as canonical JSON and signed (Ed25519) by the sender's device key, so an importer knows who
/// sent the bundle and which scope rules apply to it before reading any event (`Schemas/bundle.md`).
public struct BundleHeader: Sendable, Hashable {
    /// The clinic root key the sender trusts.
    public let clinicRoot: DevicePublicKey
    /// The sender's device key.
    public let sender: DevicePublicKey
    /// The sender's store id.
    public let senderStoreID: String
    /// The sender's device name.
    public let senderName: String
    /// Which events the bundle may hold.
    public let scope: SyncScope
    /// The vector the bundle was cut against: it holds what the sender had above it.
    public let cutAgainst: VersionVector
    /// The receiver's chain heads it was cut against (the `cutAgainstHeads` member, absent when empty: a bundle
    /// cut by the vector alone, as before; readers of version 1 ignore it).
    public let cutAgainstHeads: ChainHeads
    /// What the sender held when it cut the bundle.
    public let senderVector: VersionVector
    /// When it was cut.
    public let createdAt: Timestamp

    public init(
        clinicRoot: DevicePublicKey, sender: DevicePublicKey, senderStoreID: String, senderName: String, scope: SyncScope,
        cutAgainst: VersionVector, cutAgainstHeads: ChainHeads = ChainHeads(), senderVector: VersionVector,
        createdAt: Timestamp
    ) {
        self.clinicRoot = clinicRoot
        self.sender = sender
        self.senderStoreID = senderStoreID
        self.senderName = senderName
        self.scope = scope
        self.cutAgainst = cutAgainst
        self.cutAgainstHeads = cutAgainstHeads
        self.senderVector = senderVector
        self.createdAt = createdAt
    }

    /// The header as the sync protocol's hello of the sender.
    public var hello: SyncHello {
        SyncHello(storeID: senderStoreID, root: clinicRoot, device: sender, scope: scope, vector: senderVector)
    }

    /// Canonical JSON bytes (what is signed).
    public var bytes: [UInt8] {
        var members: [String: JSONValue] = [
            "format": .string("prolo-bundle-header"),
            "version": .int(1),
            "clinicRoot": .string(clinicRoot.base64),
            "sender": .object([
                "publicKey": .string(sender.base64), "origin": .string(sender.origin.text),
                "storeId": .string(senderStoreID), "deviceName": .string(senderName),
            ]),
            "scope": .string(scope.description),
            "cutAgainst": cutAgainst.jsonValue,
            "senderVector": senderVector.jsonValue,
            "createdAt": .string(createdAt.text),
        ]
        if !cutAgainstHeads.isEmpty { members["cutAgainstHeads"] = cutAgainstHeads.jsonValue }
        return CanonicalJSON.encode(.object(members))
    }

    /// Parses and checks a header and its signature by the sender's key.
    public init(bytes: [UInt8], signature: [UInt8]) throws(SyncError) {
        let value: JSONValue
        do {
            value = try JSONParser.parse(bytes)
        } catch {
            throw SyncError(.malformed, "bundle header is not JSON: \(error)")
        }
        func text(_ path: String, _ found: JSONValue?) throws(SyncError) -> String {
            guard let text = found?.stringValue else { throw SyncError(.malformed, "bundle header: \(path) is missing") }
            return text
        }
        guard value["format"]?.stringValue == "prolo-bundle-header", value["version"] == .int(1) else {
            throw SyncError(.malformed, "bundle header: not a version 1 Prolo bundle header")
        }
        do {
            clinicRoot = try DevicePublicKey(base64: try text("clinicRoot", value["clinicRoot"]))
            sender = try DevicePublicKey(base64: try text("sender.publicKey", value["sender"]?["publicKey"]))
        } catch let error as SyncError {
            throw error
        } catch {
            throw SyncError(.malformed, "bundle header: \(error)")
        }
        senderStoreID = try text("sender.storeId", value["sender"]?["storeId"])
        senderName = try text("sender.deviceName", value["sender"]?["deviceName"])
        scope = try SyncScope(text: try text("scope", value["scope"]))
        do {
            cutAgainst = try VersionVector(json: CanonicalJSON.encode(value["cutAgainst"] ?? .null))
            senderVector = try VersionVector(json: CanonicalJSON.encode(value["senderVector"] ?? .null))
            cutAgainstHeads =
                try value["cutAgainstHeads"].map { json throws(PayloadError) in try ChainHeads(json: json) }
                ?? ChainHeads()
            createdAt = try Timestamp(checked: try text("createdAt", value["createdAt"]))
        } catch let error as SyncError {
            throw error
        } catch {
            throw SyncError(.malformed, "bundle header: \(error)")
        }
        guard sender.isValidSignature(signature, for: bytes) else {
            throw SyncError(.untrustedSender, "the bundle header's signature does not verify with the sender key it names")
        }
    }
}
