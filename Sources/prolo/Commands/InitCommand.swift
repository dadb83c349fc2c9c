import ArgumentParser
import ProloDomain
import ProloProjections
import ProloStore

/// `prolo init`: makes a store and this device's Ed25519 key.
struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create a store and this device's signing key.",
        discussion: """
            Creates the SQLite store at --store and the device's Ed25519 private key beside it in PATH.key
            (mode 0600; the private key never enters the database). Refuses to overwrite either.
            """
    )

    @OptionGroup var options: StoreOptions

    @Option(name: .long, help: "A name for this device, e.g. \"treatment-room-laptop\".")
    var deviceName: String

    @Flag(name: .long, help: "Print machine-readable JSON.")
    var json = false

    func run() throws {
        try guarded {
            let store = try ProjectedStore.create(at: options.path, deviceName: deviceName).store
            let identity = store.identity
            if json {
                say(
                    Output.json(
                        .object([
                            "store": .string(store.path),
                            "keyFile": .string(DeviceKeyFile.path(forStore: store.path)),
                            "deviceName": .string(identity.deviceName),
                            "origin": .string(identity.origin.text),
                            "publicKey": .string(identity.publicKey.base64),
                            "storeId": .string(identity.storeID),
                        ])))
            } else {
                say("created store \(store.path) for device \"\(identity.deviceName)\"")
                say("device key   \(DeviceKeyFile.path(forStore: store.path)) (mode 0600, keep it private)")
                say("origin       \(identity.origin)")
                say("public key   \(identity.publicKey.base64)")
            }
        }
    }
}
