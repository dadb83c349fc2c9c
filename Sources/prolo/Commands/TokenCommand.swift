import ArgumentParser
import Foundation
import ProloDomain
import ProloProjections
import ProloServer
import ProloStore
import ProloSync

/// `prolo token …`: bearer tokens of this clinic server.
struct TokenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token", abstract: "Issue, list and revoke the server's bearer tokens.",
        subcommands: [Issue.self, List.self, Revoke.self])

    struct Issue: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Issue a token and print it once (only its hash is kept).",
            discussion: """
                Scopes: clinic (read and push everything, enroll devices), replica (sync everything), audit (read
                everything, write nothing), patient:ID (a home device: its patient's slice, and only its own events).
                """)

        @OptionGroup var options: StoreOptions

        @Option(name: .long, help: "The enrolled device the token is for.")
        var device: String

        @Option(name: .long, help: "clinic, replica, audit or patient:ID.")
        var scope: String

        @Option(name: .long, help: "Days until it expires (default: never).")
        var expires: Int?

        @Flag(name: .long, help: "Print JSON.")
        var json = false

        func run() throws {
            try guarded {
                let parsed: TokenScope
                do throws(SyncError) { parsed = try TokenScope(text: scope) } catch { throw Failure(.usage, "--scope: \(error.message)") }
                if let expires, expires <= 0 { throw Failure(.usage, "--expires must be at least 1 day") }
                let store = try options.openProjected().store
                let registry = try store.registry()
                guard let record = registry.devices.values.first(where: { $0.name == device }) else {
                    throw Failure(.noInput, "no device named \(device) in the registry; enroll it first (prolo device enroll)")
                }
                if case .patient(let patient) = parsed, record.role != .home || record.patient != patient {
                    throw Failure(.usage, "a patient:\(patient) token is for that patient's enrolled home device; \(device) is not")
                }
                let expiry = expires.map { Timestamp(millisecondsSinceEpoch: Timestamp.now().millisecondsSinceEpoch + Int64($0) * 86_400_000) }
                let (token, secret) = try store.issueToken(device: device, scope: parsed.description, expiresAt: expiry)
                if json {
                    say(Output.json(.object([
                        "id": .string(token.id), "token": .string(secret), "device": .string(device),
                        "scope": .string(token.scope), "expiresAt": expiry.map { .string($0.text) } ?? .null,
                    ])))
                } else {
                    say(secret)
                    FileHandle.standardError.write(Data("prolo: token \(token.id) for \(device), scope \(token.scope); it is shown only this once\n".utf8))
                }
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List tokens (never their secrets).")

        @OptionGroup var options: StoreOptions

        @Flag(name: .long, help: "Print JSON.")
        var json = false

        func run() throws {
            try guarded {
                let tokens = try options.openProjected().store.tokens()
                let now = Timestamp.now()
                if json {
                    say(Output.json(.array(tokens.map { token in
                        .object([
                            "id": .string(token.id), "device": .string(token.device), "scope": .string(token.scope),
                            "issuedAt": .string(token.issuedAt.text), "expiresAt": token.expiresAt.map { .string($0.text) } ?? .null,
                            "revoked": .bool(token.revokedAt != nil), "valid": .bool(token.isValid(at: now)),
                        ])
                    })))
                } else {
                    for token in tokens {
                        let state = token.revokedAt != nil ? "revoked" : token.isValid(at: now) ? "valid" : "expired"
                        say([token.id, Output.pad(token.device, 20), Output.pad(token.scope, 16), state].joined(separator: "  "))
                    }
                }
            }
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a token by its id (or every token of a device).")

        @OptionGroup var options: StoreOptions

        @Argument(help: "The token id (as `prolo token list` shows), or omit with --device.")
        var id: String?

        @Option(name: .long, help: "Revoke every token of this device.")
        var device: String?

        func run() throws {
            try guarded {
                let store = try options.openProjected().store
                var ids: [String] = []
                if let id { ids.append(id) }
                if let device { ids += try store.tokens().filter { $0.device == device && $0.revokedAt == nil }.map(\.id) }
                guard !ids.isEmpty else { throw Failure(.usage, "give a token id or --device NAME") }
                var revoked = 0
                for id in ids where try store.revokeToken(id: id) { revoked += 1 }
                guard revoked > 0 else { throw Failure(.noInput, "no valid token \(ids.joined(separator: ", "))") }
                say("revoked \(revoked) token\(revoked == 1 ? "" : "s")")
            }
        }
    }
}
