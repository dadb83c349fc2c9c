import ArgumentParser
import Foundation
import ProloDomain
import ProloPostgres
import ProloProjections
import ProloStore
import ProloSync

/// `prolo init`: makes a store, this device's Ed25519 key, and its place in a clinic's trust chain.
struct InitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create a store and this device's signing key.",
        discussion: """
            Creates the SQLite store at --store and the device's Ed25519 private key beside it in PATH.key
            (mode 0600; the private key never enters the database). Refuses to overwrite either.

            --clinic NAME makes the clinic's root device: its key is the trust anchor every other device's
            enrollment chains to. --trust ROOT_PUBLIC_KEY (or --join BUNDLE, which also imports the bundle)
            makes a device of an existing clinic; it is admitted elsewhere once an admin device records
            `prolo device enroll` for its key. --patient ID makes a patient's home device, holding only that
            patient's record. --device-name alone makes a one-device clinic (its own root).

            With --database URL (or PROLO_DATABASE_URL and no --store), the store is a clinic hub's empty
            PostgreSQL database instead, and --key PATH says where the hub's private key goes: the device is made
            as on SQLite, in a temporary store that is then moved up (`prolo move-up`, verified) and removed.
            """
    )

    @OptionGroup var options: StoreOptions
    @OptionGroup var database: DatabaseOptions

    @Option(
        name: .long,
        help: ArgumentHelp(
            "With --database: where the hub device's private key file goes (mode 0600; never in the database).",
            valueName: "PATH"))
    var key: String?

    @Option(name: .long, help: "A name for this device, e.g. \"treatment-room-laptop\".")
    var deviceName: String?

    @Option(name: .long, help: "Make this device the root of a new clinic with this name.")
    var clinic: String?

    @Option(name: .long, help: ArgumentHelp("Join the clinic whose root key (base64) is given.", valueName: "ROOT_PUBLIC_KEY"))
    var trust: String?

    @Option(name: .long, help: ArgumentHelp("Join the clinic that cut this bundle, and import it.", valueName: "BUNDLE"))
    var join: String?

    @Option(name: .long, help: "Make a home device holding only this patient's record (with --trust or --join).")
    var patient: String?

    @Flag(name: .long, help: "Print machine-readable JSON.")
    var json = false

    /// The root device's default name: the clinic's name as an identifier plus `-root` ("North Clinic" →
    /// "north-clinic-root"), so that records made on it can be authored by its name without `--author`.
    static func rootDeviceName(clinic: String) -> String {
        var slug = ""
        for character in clinic.lowercased() {
            if character.isASCII, character.isLetter || character.isNumber {
                slug.append(character)
            } else if !slug.isEmpty, slug.last != "-" {
                slug.append("-")
            }
        }
        while slug.last == "-" { slug.removeLast() }
        return String((slug.isEmpty ? "clinic" : slug).prefix(59)) + "-root"
    }

    func validate() throws {
        if [clinic != nil, trust != nil, join != nil].filter({ $0 }).count > 1 {
            throw ValidationError("give one of --clinic, --trust and --join")
        }
        if clinic == nil, deviceName == nil { throw ValidationError("give --device-name NAME (or --clinic NAME)") }
        if patient != nil, trust == nil, join == nil { throw ValidationError("--patient needs --trust or --join") }
    }

    func run() async throws {
        try await guardedAsync {
            if let url = try database.chosen(over: options) {
                try await createHub(url)
            } else {
                let store = try create(at: options.path)
                try report(store.store, place: store.store.path, keyFile: DeviceKeyFile.path(forStore: store.store.path), imported: store.imported)
            }
        }
    }

    /// Makes the store at `path` (and its key file beside it), importing `--join`'s bundle.
    private func create(at path: String) throws -> (store: EventStore, imported: SyncReport?) {
        let name = deviceName ?? Self.rootDeviceName(clinic: clinic ?? "clinic")
        let trustChoice = try resolveTrust()
        let store = try ProjectedStore.create(at: path, deviceName: name, trust: trustChoice).store
        if let clinic { try store.setClinicName(clinic) }
        var imported: SyncReport?
        if let join {
            imported = try BundleImport.import(from: join, into: store, key: try DeviceKeyFile.load(from: DeviceKeyFile.path(forStore: path)))
        }
        return (store, imported)
    }

    /// A hub's database: the device made in a temporary store, its key written to `--key`, the store moved up.
    private func createHub(_ url: PostgresURL) async throws {
        guard let keyPath = key else {
            throw Failure(.usage, "--key PATH: with --database, say where the hub device's private key file goes")
        }
        guard !FileManager.default.fileExists(atPath: keyPath) else {
            throw Failure(.cannotCreate, "\(keyPath) exists; prolo init never overwrites a key file")
        }
        let directory = NSTemporaryDirectory() + "prolo-init-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let made = try create(at: directory + "/hub.sqlite")
        try DeviceKeyFile.create(try DeviceKeyFile.load(from: DeviceKeyFile.path(forStore: made.store.path)), at: keyPath)
        do {
            _ = try await PostgresLog.with(url) { log throws(StoreError) in try await log.moveUp(from: made.store) }
        } catch {
            try? FileManager.default.removeItem(atPath: keyPath)
            throw error
        }
        try report(made.store, place: url.redacted, keyFile: keyPath, imported: made.imported)
    }

    private func report(_ store: EventStore, place: String, keyFile: String, imported report: SyncReport?) throws {
        let key = try DeviceKeyFile.load(from: keyFile)
        let identity = store.identity
        let bundleKey = try key.agreementPublicKeyBase64()
        if json {
            var object: [String: JSONValue] = [
                "store": .string(place),
                "keyFile": .string(keyFile),
                "deviceName": .string(identity.deviceName),
                "origin": .string(identity.origin.text),
                "publicKey": .string(identity.publicKey.base64),
                "bundleKey": .string(bundleKey),
                "root": .string(identity.rootPublicKey.base64),
                "storeId": .string(identity.storeID),
            ]
            if let report { object["imported"] = .int(Int64(report.new)) }
            say(Output.json(.object(object)))
        } else {
            say("created store \(place) for device \"\(identity.deviceName)\"")
            say("device key   \(keyFile) (mode 0600, keep it private)")
            say("origin       \(identity.origin)")
            say("public key   \(identity.publicKey.base64)")
            say("bundle key   \(bundleKey) (give it to senders: prolo sync export --recipient)")
            say("clinic root  \(identity.rootPublicKey.base64)\(identity.isClinicRoot ? " (this device)" : "")")
            if let report { say("imported     \(report.new) events from \(join ?? "")") }
            if !identity.isClinicRoot {
                say("next: on an admin device, prolo device enroll --name \(identity.deviceName) --role "
                    + "\(patient == nil ? "clinic" : "home --patient \(patient ?? "")") --public-key \(identity.publicKey.base64)")
            }
        }
    }

    private func resolveTrust() throws -> StoreTrust {
        let home = try patient.map { text in
            guard let id = try? PatientID(checked: text) else { throw Failure(.usage, "--patient: \(text) is not a patient id") }
            return id
        }
        if let trust {
            guard let root = try? DevicePublicKey(base64: trust) else {
                throw Failure(.usage, "--trust: \"\(trust.prefix(60))\" is not a base64 Ed25519 public key")
            }
            return .joining(root: root, homePatient: home)
        }
        if let join {
            let reader = try BundleReader(path: join)
            let header = try BundleHeader(bytes: reader.header, signature: reader.headerSignature)
            return .joining(root: header.clinicRoot, homePatient: home ?? header.scope.patient)
        }
        return .clinicRoot
    }
}
