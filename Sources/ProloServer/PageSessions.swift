import Foundation
import Synchronization

/// The browsers signed in to the clinic's pages: a random session id (the cookie) for a token, with the CSRF token
/// its forms carry. Held in memory only; a restart signs everyone out. The token's secret is not kept: each page
/// view looks the token up by its id, so a revoked or expired token ends its sessions at the next click.
final class PageSessions: Sendable {
    /// One signed-in browser.
    struct Session: Sendable, Hashable {
        /// The cookie's value: 32 random bytes, hex.
        let id: String
        /// The token every form of this session carries: 32 random bytes, hex.
        let csrf: String
        /// The id of the token presented at sign-in.
        let tokenID: String
        /// When the session ends whatever happens.
        let expires: Date
    }

    /// How long a session lasts after sign-in: a clinic's working day.
    static let lifetime: TimeInterval = 12 * 3600
    /// The most sessions held; the oldest goes first beyond it.
    static let capacity = 10_000

    private let sessions = Mutex<[String: Session]>([:])

    /// Sessions held now (expired ones included until the next sign-in sweeps them), for `/metrics`.
    var count: Int { sessions.withLock { $0.count } }

    /// A new session for the token `tokenID`.
    func open(tokenID: String, now: Date = Date()) -> Session {
        let session = Session(
            id: Self.randomHex(), csrf: Self.randomHex(), tokenID: tokenID,
            expires: now.addingTimeInterval(Self.lifetime))
        sessions.withLock { table in
            table = table.filter { $0.value.expires > now }
            if table.count >= Self.capacity, let oldest = table.values.min(by: { $0.expires < $1.expires }) {
                table[oldest.id] = nil
            }
            table[session.id] = session
        }
        return session
    }

    /// The live session whose id is `id`, or `nil`.
    func session(_ id: String, now: Date = Date()) -> Session? {
        sessions.withLock { table in
            guard let session = table[id] else { return nil }
            guard session.expires > now else {
                table[id] = nil
                return nil
            }
            return session
        }
    }

    /// Ends the session `id` (sign-out, or its token no longer valid).
    func close(_ id: String) {
        _ = sessions.withLock { $0.removeValue(forKey: id) }
    }

    /// Whether `presented` is the session's CSRF token, compared in time independent of where they differ.
    static func csrfMatches(_ presented: String?, _ session: Session) -> Bool {
        guard let presented else { return false }
        let a = Array(presented.utf8)
        let b = Array(session.csrf.utf8)
        guard a.count == b.count else { return false }
        return zip(a, b).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }

    private static func randomHex() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<32).map { _ in
            let byte = UInt8.random(in: 0...255, using: &generator)
            return (byte < 16 ? "0" : "") + String(byte, radix: 16)
        }.joined()
    }
}
