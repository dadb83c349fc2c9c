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

    struct Issue: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Issue a token and print it once (only its hash is kept).",
            discussion: """
                Scopes: clinic (read and push everything, enroll devices), replica (sync everything), audit (read
                everything, write nothing), patient:ID (a home device: its patient's slice, and only its own events).
                The token is bound to the device's key (its origin), not its name: --device takes the origin
                (`prolo device list`) or a name only one enrolled device has. A patient:ID token is only for that
                patient's enrolled home device, and a home device only gets its patient's scope.
                """)

        @OptionGroup var options: StoreOptions
        @OptionGroup var database: DatabaseOptions

        @Option(name: .long, help: "The enrolled device the token is for: its origin, or its name if no other device has it.")
        var device: String

        @Option(name: .long, help: "clinic, replica, audit or patient:ID.")
        var scope: String

        @Option(name: .long, help: "Days until it expires (default: never).")
        var expires: Int?

        @Flag(name: .long, help: "Print JSON.")
        var json = false

        func run() async throws {
            try await guardedAsync {
                let parsed: TokenScope
                do throws(AccessError) { parsed = try TokenScope(text: scope) } catch { throw Failure(.usage, "--scope: \(error.message)") }
                if let expires, expires <= 0 { throw Failure(.usage, "--expires must be at least 1 day") }
                let tables = try ServerTables.open(options, database)
                let registry = try await tables.registry()
                let record: DeviceRecord
                do throws(AccessError) {
                    record = try DeviceAccess.device(device, in: registry)
                    _ = try DeviceAccess(granting: parsed, to: record)
                } catch {
                    throw Failure(error)
                }
                let expiry = expires.map { Timestamp(millisecondsSinceEpoch: Timestamp.now().millisecondsSinceEpoch + Int64($0) * 86_400_000) }
                let (token, secret) = try await tables.issueToken(for: record.origin, scope: parsed, expiresAt: expiry)
                if json {
                    say(Output.json(.object([
                        "id": .string(token.id), "token": .string(secret), "device": .string(record.name),
                        "origin": .string(record.origin.text), "scope": .string(token.scope),
                        "expiresAt": expiry.map { .string($0.text) } ?? .null,
                    ])))
                } else {
                    say(secret)
                    FileHandle.standardError.write(Data(
                        "prolo: token \(token.id) for \(record.name) (origin \(record.origin)), scope \(token.scope); it is shown only this once\n".utf8))
                }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List tokens (never their secrets).")

        @OptionGroup var options: StoreOptions
        @OptionGroup var database: DatabaseOptions

        @Flag(name: .long, help: "Print JSON.")
        var json = false

        func run() async throws {
            try await guardedAsync {
                let tokens = try await ServerTables.open(options, database).tokens()
                let now = Timestamp.now()
                if json {
                    say(Output.json(.array(tokens.map { token in
                        .object([
                            "id": .string(token.id), "device": .string(token.device),
                            "origin": token.origin.map { .string($0.text) } ?? .null, "scope": .string(token.scope),
                            "issuedAt": .string(token.issuedAt.text), "expiresAt": token.expiresAt.map { .string($0.text) } ?? .null,
                            "revoked": .bool(token.revokedAt != nil), "valid": .bool(token.isValid(at: now)),
                        ])
                    })))
                } else {
                    for token in tokens {
                        let state =
                            token.revokedAt != nil ? "revoked" : token.origin == nil ? "unbound"
                            : token.isValid(at: now) ? "valid" : "expired"
                        say([
                            token.id, Output.pad(token.device, 20), Output.pad(token.origin?.text ?? "-", 32),
                            Output.pad(token.scope, 16), state,
                        ].joined(separator: "  "))
                    }
                }
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a token by its id (or every token of a device).")

        @OptionGroup var options: StoreOptions
        @OptionGroup var database: DatabaseOptions

        @Argument(help: "The token id (as `prolo token list` shows), or omit with --device.")
        var id: String?

        @Option(name: .long, help: "Revoke every token of this device (its origin, or a name only one device has).")
        var device: String?

        func run() async throws {
            try await guardedAsync {
                let tables = try ServerTables.open(options, database)
                var ids: [String] = []
                if let id { ids.append(id) }
                if let device {
                    // The device's tokens by origin, and tokens never bound to a device (issued by name) by that name.
                    let registry = try await tables.registry()
                    var origin: Identifier?
                    do throws(AccessError) {
                        origin = try DeviceAccess.device(device, in: registry, includingRevoked: true).origin
                    } catch where error.code == .unknownDevice {
                        origin = nil
                    } catch {
                        throw Failure(error)
                    }
                    ids += try await tables.tokens().filter { token in
                        token.revokedAt == nil && (token.origin.map { $0 == origin } ?? (token.device == device))
                    }.map(\.id)
                }
                guard !ids.isEmpty else { throw Failure(.usage, "give a token id or --device NAME") }
                var revoked = 0
                for id in ids where try await tables.revokeToken(id: id) { revoked += 1 }
                guard revoked > 0 else { throw Failure(.noInput, "no valid token \(ids.joined(separator: ", "))") }
                say("revoked \(revoked) token\(revoked == 1 ? "" : "s")")
            }
        }
    }
}
