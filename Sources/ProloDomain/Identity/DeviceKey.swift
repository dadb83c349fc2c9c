public import Crypto
public import Foundation

/// A device's Ed25519 identity: signs every event the device records.
///
/// The private key lives only in the key file beside the store (see ``DeviceKeyFile``), never in the database.
public struct DeviceKey: Sendable {
    /// The signing key.
    public let privateKey: Curve25519.Signing.PrivateKey

    /// A fresh random key.
    public init() {
        privateKey = Curve25519.Signing.PrivateKey()
    }

    /// A key from its 32-byte seed (RFC 8032 private key).
    public init(seed: some ContiguousBytes) throws(IdentityError) {
        do {
            privateKey = try Curve25519.Signing.PrivateKey(rawRepresentation: seed)
        } catch {
            throw IdentityError(.malformedKey, "an Ed25519 private key is 32 bytes: \(error)")
        }
    }

    /// The public half.
    public var publicKey: DevicePublicKey { DevicePublicKey(key: privateKey.publicKey) }

    /// The 32-byte seed, for writing the key file.
    public var seed: Data { privateKey.rawRepresentation }

    /// Signs a message (Ed25519 as in RFC 8032: deterministic on this platform).
    public func signature(for message: some DataProtocol) throws(IdentityError) -> [UInt8] {
        do {
            return Array(try privateKey.signature(for: message))
        } catch {
            throw IdentityError(.signingFailed, "Ed25519 signing failed: \(error)")
        }
    }
}

/// A device's Ed25519 public key and the origin id derived from it.
public struct DevicePublicKey: Sendable, Hashable, CustomStringConvertible {
    /// The verifying key.
    public let key: Curve25519.Signing.PublicKey

    init(key: Curve25519.Signing.PublicKey) {
        self.key = key
    }

    /// A key from its 32 raw bytes.
    public init(rawBytes: some ContiguousBytes) throws(IdentityError) {
        do {
            key = try Curve25519.Signing.PublicKey(rawRepresentation: rawBytes)
        } catch {
            throw IdentityError(.malformedKey, "an Ed25519 public key is 32 bytes: \(error)")
        }
    }

    /// A key from standard base64 of its 32 raw bytes, the form printed by `prolo device key`.
    public init(base64 text: String) throws(IdentityError) {
        guard let bytes = Data(base64Encoded: text), bytes.count == 32 else {
            throw IdentityError(.malformedKey, "\"\(text.prefix(60))\" is not the base64 of a 32-byte Ed25519 public key")
        }
        try self.init(rawBytes: bytes)
    }

    /// The 32 raw bytes.
    public var rawBytes: [UInt8] { Array(key.rawRepresentation) }

    /// Standard base64 of the raw bytes.
    public var base64: String { key.rawRepresentation.base64EncodedString() }

    /// The origin id of events this key signs: the first 16 bytes of SHA-256 of the key, in hex.
    ///
    /// Self-certifying: anyone holding the key can check that an origin id belongs to it.
    public var origin: Identifier {
        Identifier(uncheckedText: Hex.encode(SHA256.hash(data: key.rawRepresentation).prefix(16)))
    }

    /// Whether `signature` is this key's Ed25519 signature of `message`.
    public func isValidSignature(_ signature: [UInt8], for message: some DataProtocol) -> Bool {
        key.isValidSignature(signature, for: message)
    }

    public var description: String { base64 }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.rawBytes == rhs.rawBytes }
    public func hash(into hasher: inout Hasher) { hasher.combine(rawBytes) }
}

/// A device identity that cannot be made, read or used.
public struct IdentityError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong.
    public enum Code: String, Sendable {
        /// The key file does not exist.
        case missingKeyFile = "missing-key-file"
        /// The key file can be read by other users (as ssh, Prolo refuses to use it).
        case permissionsTooOpen = "permissions-too-open"
        /// The key file or key text is not a Prolo device key.
        case malformedKey = "malformed-key"
        /// The key file cannot be created (it exists already, or the folder is not writable).
        case cannotCreate = "cannot-create"
        /// This user may not read the key file (it belongs to another user).
        case unreadable = "unreadable-key-file"
        /// Reading the key file failed.
        case ioError = "io-error"
        /// Signing failed inside the crypto library.
        case signingFailed = "signing-failed"
    }

    /// The kind of problem.
    public let code: Code
    /// What is wrong and what to do about it.
    public let message: String

    /// Makes an error.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
