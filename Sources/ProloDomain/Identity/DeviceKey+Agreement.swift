public import Crypto
public import Foundation

extension DeviceKey {
    /// The device's X25519 key for receiving encrypted bundles, derived from the Ed25519 seed.
    ///
    /// HKDF-SHA256(seed, salt "prolo-bundle-agreement-v1") gives the X25519 private key, so the one key file
    /// holds both identities and the same seed always gives the same recipient key. The two keys are
    /// independent to anyone without the seed.
    public func agreementKey() throws(IdentityError) -> Curve25519.KeyAgreement.PrivateKey {
        let derived = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: SymmetricKey(data: seed), salt: Data("prolo-bundle-agreement-v1".utf8),
            info: Data(), outputByteCount: 32)
        do {
            return try derived.withUnsafeBytes { try Curve25519.KeyAgreement.PrivateKey(rawRepresentation: $0) }
        } catch {
            throw IdentityError(.malformedKey, "cannot derive the X25519 bundle key: \(error)")
        }
    }

    /// The public half of ``agreementKey()``, as `--recipient` takes it (base64 of 32 bytes).
    public func agreementPublicKeyBase64() throws(IdentityError) -> String {
        try agreementKey().publicKey.rawRepresentation.base64EncodedString()
    }
}
