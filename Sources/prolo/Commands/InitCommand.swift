import ArgumentParser
import ProloDomain
import ProloProjections
import ProloStore
import ProloSync

/// `prolo init`: makes a store, this device's Ed25519 key, and its place in a clinic's trust chain.
struct InitCommand: ParsableCommand {
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
            """
    )

    @OptionGroup var options: StoreOptions

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

    func run() throws {
        try guarded {
            let name = deviceName ?? Self.rootDeviceName(clinic: clinic ?? "clinic")
            let trustChoice = try resolveTrust()
            let projected = try ProjectedStore.create(at: options.path, deviceName: name, trust: trustChoice)
            let store = projected.store
            if let clinic { try store.setClinicName(clinic) }
            let key = try DeviceKeyFile.load(from: DeviceKeyFile.path(forStore: store.path))
            var report: SyncReport?
            if let join { report = try BundleImport.import(from: join, into: store, key: key) }
            let identity = store.identity
            let bundleKey = try key.agreementPublicKeyBase64()
            if json {
                var object: [String: JSONValue] = [
                    "store": .string(store.path),
                    "keyFile": .string(DeviceKeyFile.path(forStore: store.path)),
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
                say("created store \(store.path) for device \"\(identity.deviceName)\"")
                say("device key   \(DeviceKeyFile.path(forStore: store.path)) (mode 0600, keep it private)")
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
