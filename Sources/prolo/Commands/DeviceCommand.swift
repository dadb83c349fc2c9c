import ArgumentParser
import Foundation
import ProloDomain
import ProloProjections
import ProloStore

/// `prolo device …`: the clinic's event-sourced device registry.
struct DeviceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "device",
        abstract: "Enroll, list and revoke the devices that may write to the clinic's log.",
        discussion: """
            Enrollments and revocations are signed events (device.enrolled, device.revoked) that replicate to
            every device; only the root and clinic devices may record them. Events of a device no registry
            entry admits are quarantined with the reason until its enrollment arrives.
            """,
        subcommands: [Enroll.self, List.self, Revoke.self, Key.self])

    struct Enroll: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Enroll a device by its public key.")

        @OptionGroup var options: StoreOptions
        @OptionGroup var database: DatabaseOptions

        @Option(name: .long, help: "The device's name.")
        var name: String

        @Option(name: .long, help: ArgumentHelp(
            "The key file of the device that signs (default: the store's, STORE.key).", valueName: "PATH"))
        var key: String?

        @Option(name: .long, help: "clinic, replica, audit or home.")
        var role: String

        @Option(name: .long, help: "For a home device: the patient it belongs to.")
        var patient: String?

        @Option(name: .long, help: "The device's Ed25519 public key (base64), as its `prolo init` printed it.")
        var publicKey: String

        @Flag(name: .long, help: "Print the enrollment event as JSON.")
        var json = false

        func run() async throws {
            try await guardedAsync {
                guard let deviceRole = DeviceEnrolled.Role(rawValue: role) else {
                    throw Failure(.usage, "--role must be one of clinic, replica, audit, home (not \(role))")
                }
                if deviceRole == .home, patient == nil { throw Failure(.usage, "a home device needs --patient ID") }
                if deviceRole != .home, patient != nil { throw Failure(.usage, "--patient is only for --role home") }
                let tables = try ServerTables.open(options, database)
                let identity = try await tables.identity()
                let key = try DeviceKeyFile.load(from: tables.keyPath(self.key, options))
                let payload: DeviceEnrolled
                do {
                    _ = try DevicePublicKey(base64: publicKey)
                    payload = DeviceEnrolled(
                        deviceName: try Label(checked: name), publicKey: try PublicKeyBase64(checked: publicKey),
                        role: deviceRole, patient: try patient.map { text throws(PayloadError) in try PatientID(checked: text) },
                        enrolledBy: try Identifier(checked: identity.origin.text))
                } catch {
                    throw Failure(.usage, "\(error)")
                }
                let draft = try EventDraft(
                    payload, patient: nil, occurredAt: .now(),
                    author: Author(id: try Identifier(checked: identity.origin.text), role: .admin))
                let stored = try await tables.record([draft], signedBy: key)[0]
                say(json ? Output.json(try Output.eventObject(stored)) : "enrolled \(name) (\(role)) by event \(stored.event.id)")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the devices this store knows, with their state.")

        @OptionGroup var options: StoreOptions
        @OptionGroup var database: DatabaseOptions

        @Flag(name: .long, help: "Print a JSON array.")
        var json = false

        func run() async throws {
            try await guardedAsync {
                let tables = try ServerTables.open(options, database)
                let identity = try await tables.identity()
                let devices = try await tables.registry().devices.values.sorted { ($0.role.rawValue, $0.name) < ($1.role.rawValue, $1.name) }
                if json {
                    say(
                        Output.json(
                            .array(
                                devices.map { device in
                                    .object([
                                        "name": .string(device.name), "role": .string(device.role.rawValue),
                                        "origin": .string(device.origin.text), "publicKey": .string(device.publicKey.base64),
                                        "patient": device.patient.map { .string($0.text) } ?? .null,
                                        "enrolledBy": device.enrolledBy.map { .string($0.text) } ?? .null,
                                        "revokedBy": device.revokedBy.map { .string($0.text) } ?? .null,
                                        "frozen": device.frozenReason.map(JSONValue.string) ?? .null,
                                        "self": .bool(device.origin == identity.origin),
                                    ])
                                })))
                } else {
                    for device in devices {
                        var state = device.enrolledBy == nil ? "trusted" : "enrolled"
                        if device.revokedBy != nil { state = "revoked" }
                        if device.frozenReason != nil { state = "FROZEN (fork)" }
                        say(
                            [Output.pad(device.name, 24), Output.pad(device.role.rawValue, 8), Output.pad(state, 14),
                                device.origin.text, device.patient.map { "patient \($0)" } ?? ""].joined(separator: "  "))
                    }
                }
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke a device: its events recorded after now are refused everywhere.")

        @OptionGroup var options: StoreOptions
        @OptionGroup var database: DatabaseOptions

        @Argument(help: "The device's name (as `prolo device list` shows it).")
        var name: String

        @Option(name: .long, help: "lost, stolen, compromised, retired, home-use-ended or other.")
        var reason: String = "retired"

        @Option(name: .long, help: ArgumentHelp(
            "The key file of the device that signs (default: the store's, STORE.key).", valueName: "PATH"))
        var key: String?

        func run() async throws {
            try await guardedAsync {
                guard let why = DeviceRevoked.Reason(rawValue: reason) else {
                    throw Failure(.usage, "--reason must be one of lost, stolen, compromised, retired, home-use-ended, other")
                }
                let tables = try ServerTables.open(options, database)
                let identity = try await tables.identity()
                let matches = try await tables.registry().devices.values.filter { $0.name == name }
                guard matches.count == 1, let device = matches.first else {
                    throw Failure(.noInput, matches.isEmpty ? "no device named \(name)" : "\(matches.count) devices are named \(name)")
                }
                let key = try DeviceKeyFile.load(from: tables.keyPath(self.key, options))
                let payload: DeviceRevoked
                do {
                    payload = DeviceRevoked(
                        deviceName: try Label(checked: name), publicKey: try PublicKeyBase64(checked: device.publicKey.base64),
                        reason: why, revokedBy: try Identifier(checked: identity.origin.text))
                } catch {
                    throw Failure(.usage, "\(error)")
                }
                let draft = try EventDraft(
                    payload, patient: nil, occurredAt: .now(),
                    author: Author(id: try Identifier(checked: identity.origin.text), role: .admin))
                let stored = try await tables.record([draft], signedBy: key)[0]
                say("revoked \(name) by event \(stored.event.id)")
            }
        }
    }

    struct Key: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print this device's public keys.")

        @OptionGroup var options: StoreOptions

        @Flag(name: .long, help: "Print the X25519 key that `prolo sync export --recipient` encrypts bundles to.")
        var bundle = false

        @Flag(name: .long, help: "Print JSON.")
        var json = false

        func run() throws {
            try guarded {
                let store = try EventStore.open(at: options.path, busyTimeoutMilliseconds: options.busyTimeoutMilliseconds)
                let key = try DeviceKeyFile.load(from: DeviceKeyFile.path(forStore: store.path))
                let bundleKey = try key.agreementPublicKeyBase64()
                if json {
                    say(
                        Output.json(
                            .object([
                                "publicKey": .string(store.identity.publicKey.base64), "bundleKey": .string(bundleKey),
                                "origin": .string(store.identity.origin.text), "root": .string(store.identity.rootPublicKey.base64),
                            ])))
                } else {
                    say(bundle ? bundleKey : store.identity.publicKey.base64)
                }
            }
        }
    }
}
