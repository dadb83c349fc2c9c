import Crypto
import Foundation
import ProloDomain
import ProloProjections
import ProloStore
import ProloSync
import ProloTestSupport

/// One random schedule of the adversarial convergence property (DESIGN §6: convergent, idempotent, resumable,
/// verified, forks caught): a clinic of real stores with random clinical histories, and the bundle deliveries a
/// careless courier or a hostile network makes — a chain split across bundles delivered newest first, bundles
/// delivered twice or stale, bundles cut short, a device revoked part-way whose thief keeps recording, and a
/// device restored from a backup that appends a conflicting event.
///
/// Everything random comes from `seed`, so a failing schedule replays; ``steps`` says what was done.
///
/// The tablet and the desk record only about patient p-4 (the others record about every patient), so that what
/// a revocation or a fork does is confined to their origins and p-4's read model: ``compare()`` holds every other
/// origin and patient to exact convergence, and reports differences confined to a revoked or forked origin as
/// ``Difference/confined``.
final class AdversarialSchedule {
    /// Which part-way troubles a schedule has.
    struct Troubles: Hashable, CustomStringConvertible {
        /// The root revokes the tablet part-way; its thief goes on recording and syncing.
        var revocation: Bool
        /// The desk is backed up, then restored elsewhere, and the restored copy appends before it syncs.
        var fork: Bool

        var description: String {
            let names = [revocation ? "revocation" : nil, fork ? "fork" : nil].compactMap { $0 }
            return names.isEmpty ? "none" : names.joined(separator: " + ")
        }
    }

    /// One way the stores disagree, or one promise a delivery broke.
    struct Difference: CustomStringConvertible {
        /// Whether it concerns only a revoked or forked origin's events and the patient they are about.
        let confined: Bool
        let text: String
        var description: String { (confined ? "[confined] " : "") + text }
    }

    /// One store of the schedule.
    struct Node {
        let name: String
        let projected: ProjectedStore
        let key: DeviceKey
        /// Whether the final comparison covers it: not the revoked device (its thief's log holds what others
        /// refuse) and not either copy of the forked origin (each holds its own branch).
        let compared: Bool
        var store: EventStore { projected.store }
        var patient: PatientID? { store.identity.homePatient }
    }

    /// What a store holds, for the checks of one delivery.
    struct Snapshot: Equatable {
        let vector: VersionVector
        let log: Set<EventID>
        let quarantine: Set<EventID>
        let forks: Set<String>
        let registry: DeviceRegistry
        let readModels: ReadModels

        init(_ node: Node) throws {
            vector = try node.store.versionVector()
            log = Set(try node.store.events().map(\.event.id))
            quarantine = Set(try node.store.quarantine().map(\.id))
            forks = Set(try node.store.forks().map(\.otherEvent))
            registry = try node.store.registry()
            readModels = try ReadModels(node.projected)
        }

        /// Every event id the store keeps in any form: in the log, in quarantine, or as fork evidence.
        var evidence: Set<String> { Set(log.map(\.text)).union(quarantine.map(\.text)).union(forks) }
    }

    /// The read models as the clinic sees them: summaries, open alerts, and every patient's state.
    struct ReadModels: Equatable {
        let patients: [PatientSummary]
        /// Alerts as text; a fork's alert without its time (each store stamps when it detected the fork).
        let alerts: [String]
        let states: [PatientID: TreatmentState]

        init(_ projected: ProjectedStore) throws {
            patients = try projected.patients()
            alerts = try projected.openAlerts().map { alert in
                let at = alert.kind == AlertKind.forkDetected.rawValue ? "-" : alert.raisedAt
                return "\(alert.patient) \(alert.kind) \(alert.raisedBy) \(at) \(alert.severity) \(alert.isReviewFlag)"
            }.sorted()
            var states: [PatientID: TreatmentState] = [:]
            for patient in AdversarialSchedule.patients {
                if let state = try projected.state(of: patient) { states[patient] = state }
            }
            self.states = states
        }
    }

    static let patients: [PatientID] = ["p-1", "p-2", "p-3", "p-4"]
    /// The home device's patient.
    static let homePatient: PatientID = "p-1"
    /// The only patient the tablet and the desk record about.
    static let troubledPatient: PatientID = "p-4"
    /// The devices that record only about ``troubledPatient``.
    static let troubledDevices: Set<String> = ["tablet", "desk", "desk-restored"]

    let seed: UInt64
    let troubles: Troubles
    private(set) var steps: [String] = []
    /// What broke a promise of DESIGN §6, each naming the step or the stores.
    private(set) var problems: [Difference] = []
    private var random: SeededGenerator
    private let clinic: ClinicFixture
    private let directory: TemporaryDirectory
    private(set) var nodes: [Node] = []
    /// Bundles each store has been given (by name), for duplicate deliveries.
    private var delivered: [String: [String]] = [:]
    private var backup: String?

    init(seed: UInt64, troubles: Troubles, in directory: TemporaryDirectory) throws {
        self.seed = seed
        self.troubles = troubles
        self.directory = directory
        random = SeededGenerator(seed: seed)
        clinic = try ClinicFixture(in: directory)
        try clinic.addDevice("server", role: .replica)
        try clinic.addDevice("laptop", role: .clinic)
        try clinic.addDevice("home", role: .home, patient: Self.homePatient)
        try clinic.addDevice("tablet", role: .clinic)
        try clinic.addDevice("desk", role: .clinic)
        for device in clinic.devices {
            let compromised =
                (device.name == "tablet" && troubles.revocation) || (device.name == "desk" && troubles.fork)
            nodes.append(Node(name: device.name, projected: device.projected, key: device.key, compared: !compromised))
        }
    }

    func node(_ name: String) -> Node { nodes.first { $0.name == name }! }

    // MARK: The schedule

    /// Runs rounds of random recording and adversarial deliveries, with a revocation and a restore from backup
    /// part-way, then syncs every ordered pair until a whole pass moves nothing.
    func run(rounds: Int = 5) throws {
        let revokeAt = Int.random(in: 1..<rounds, using: &random)
        let backupAt = Int.random(in: 0..<(rounds - 1), using: &random)
        let restoreAt = Int.random(in: (backupAt + 1)..<rounds, using: &random)
        note("troubles: \(troubles)")
        for round in 0..<rounds {
            if troubles.revocation, round == revokeAt { try revokeTablet() }
            if troubles.fork, round == backupAt { try backUpDesk() }
            if troubles.fork, round == restoreAt { try restoreDesk() }
            for _ in 0..<Int.random(in: 2...4, using: &random) {
                try record(on: nodes.filter { $0.name != "server" }.randomElement(using: &random)!)
            }
            for _ in 0..<Int.random(in: 3...6, using: &random) {
                let sender = nodes.randomElement(using: &random)!
                let receiver = nodes.filter { $0.name != sender.name }.randomElement(using: &random)!
                try deliver(from: sender, to: receiver)
            }
        }
        try settle()
    }

    private func note(_ step: String) { steps.append(step) }

    private func record(on node: Node) throws {
        let count = Int.random(in: 1...3, using: &random)
        let drafts = try (0..<count).map { _ in
            let patient =
                node.patient
                ?? (Self.troubledDevices.contains(node.name)
                    ? Self.troubledPatient : Self.patients.randomElement(using: &random)!)
            return try ClinicalDrafts.random(for: patient, byPatient: node.patient != nil, using: &random)
        }
        let events = try node.store.record(drafts, signedBy: node.key).map(\.event)
        note(
            "\(node.name) records \(events.map { "\($0.originSeq):\($0.type.rawValue)/\($0.patient?.text ?? "-") \($0.id.text.suffix(4))" })"
        )
    }

    /// The root revokes the tablet (stolen); from then on the thief keeps recording on it and syncing.
    private func revokeTablet() throws {
        let tablet = node("tablet")
        let payload = DeviceRevoked(
            deviceName: try Label(checked: tablet.name),
            publicKey: try PublicKeyBase64(checked: tablet.key.publicKey.base64),
            reason: .stolen, revokedBy: try Identifier(checked: clinic.root.store.identity.origin.text))
        let root = node("root")
        let event = try root.store.record(
            [try EventDraft(payload, patient: nil, occurredAt: .now(), author: Author(id: "admin-1", role: .admin))],
            signedBy: root.key)[0].event
        note("root revokes the tablet (root originSeq \(event.originSeq), hlc \(event.hlc))")
        // The thief's next events are recorded strictly after the revocation.
        Thread.sleep(forTimeInterval: 0.002)
    }

    /// Copies the desk's store file as a backup would, then the desk goes on recording.
    private func backUpDesk() throws {
        let desk = node("desk")
        let path = directory.file("desk-backup.sqlite")
        let connection = try SQLiteConnection(path: desk.store.path)
        try connection.execute("VACUUM INTO '\(path)'")
        backup = path
        note("desk is backed up at originSeq \(try desk.store.versionVector()[desk.store.identity.origin.text])")
        try record(on: desk)
    }

    /// The desk is restored from its backup on another machine with the same key, which appends before it has
    /// synced: its events conflict with the ones the desk recorded after the backup (a fork).
    private func restoreDesk() throws {
        guard let backup else { return }
        let desk = node("desk")
        let copy = directory.file("desk-restored.sqlite")
        try FileManager.default.moveItem(atPath: backup, toPath: copy)
        let restored = Node(
            name: "desk-restored", projected: try ProjectedStore.open(at: copy), key: desk.key, compared: false)
        nodes.append(restored)
        note("desk-restored opens the backup")
        try record(on: restored)
    }

    // MARK: Deliveries

    private enum Delivery: CaseIterable {
        case plain, splitNewestFirst, duplicate, stale, truncated
    }

    private func deliver(from sender: Node, to receiver: Node) throws {
        switch Delivery.allCases.randomElement(using: &random)! {
        case .plain:
            try importBundle(
                try export(from: sender, to: receiver), into: receiver, as: "\(sender.name) → \(receiver.name)")
        case .splitNewestFirst:
            try deliverSplit(from: sender, to: receiver)
        case .duplicate:
            if let path = delivered[receiver.name]?.randomElement(using: &random) {
                try deliverAgain(path, to: receiver)
            } else {
                try importBundle(
                    try export(from: sender, to: receiver), into: receiver, as: "\(sender.name) → \(receiver.name)")
            }
        case .stale:
            // What the sender held above nothing: everything in the receiver's scope, most of it held already.
            let path = try export(from: sender, to: receiver, cutAgainst: VersionVector())
            try importBundle(path, into: receiver, as: "\(sender.name) → \(receiver.name) (everything again)")
        case .truncated:
            try deliverTruncated(from: sender, to: receiver)
        }
    }

    /// Exports what `receiver` is missing from `sender` (above `cutAgainst`, by default the receiver's vector),
    /// in the receiver's scope, sometimes encrypted to it, in small blocks.
    private func export(
        from sender: Node, to receiver: Node, cutAgainst: VersionVector? = nil, blockBytes: Int? = nil
    ) throws -> String {
        let path = clinic.bundlePath()
        let vector = try cutAgainst ?? receiver.store.versionVector()
        var options = BundleExport.Options(
            cutAgainst: vector, heads: try receiver.store.chainHeads(at: vector), patient: receiver.patient,
            blockBytes: blockBytes ?? [600, 2_000, BundleWriter.defaultBlockBytes].randomElement(using: &random)!)
        if Bool.random(using: &random) { options.recipient = try receiver.key.agreementKey().publicKey }
        try BundleExport.export(from: sender.store, signedBy: sender.key, to: path, options: options)
        return path
    }

    @discardableResult
    private func importBundle(_ path: String, into receiver: Node, as label: String) throws -> SyncReport? {
        delivered[receiver.name, default: []].append(path)
        do {
            let report = try BundleImport.import(from: path, into: receiver.store, key: receiver.key)
            note(
                "\(label): \(report.new) new, \(report.alreadyPresent) present, \(report.quarantined) quarantined, \(report.forks) forks"
            )
            return report
        } catch {
            problems.append(
                Difference(
                    confined: false,
                    text: "\(label): a well-formed bundle was refused: \(error.code.rawValue): \(error.message)"))
            note("\(label): REFUSED \(error.message)")
            return nil
        }
    }

    /// A chain split across bundles delivered newest first: every origin's events in the bundle are cut at
    /// random points into 2 or 3 pieces, and the pieces (each a bundle under the sender's signed header) are
    /// imported last piece first.
    private func deliverSplit(from sender: Node, to receiver: Node) throws {
        let full = try export(from: sender, to: receiver)
        let contents = try BundleSurgery.read(full, key: receiver.key)
        var byOrigin: [Identifier: [(Int64, [UInt8])]] = [:]
        for record in contents.records {
            let event = try EventWireCodec.decode(record)
            byOrigin[event.origin, default: []].append((event.originSeq, record))
        }
        let pieceCount = Int.random(in: 2...3, using: &random)
        var pieces = [[[UInt8]]](repeating: [], count: pieceCount)
        for origin in byOrigin.keys.sorted(by: { $0.text < $1.text }) {
            let chain = byOrigin[origin]!.sorted { $0.0 < $1.0 }
            var cuts = (0..<(pieceCount - 1)).map { _ in Int.random(in: 0...chain.count, using: &random) }.sorted()
            cuts.append(chain.count)
            var start = 0
            for (piece, end) in cuts.enumerated() {
                pieces[piece] += chain[start..<end].map(\.1)
                start = end
            }
        }
        let recipient = try receiver.key.agreementKey().publicKey
        for (index, records) in pieces.enumerated().reversed() where !records.isEmpty {
            let path = clinic.bundlePath()
            try BundleSurgery.write(
                records, header: contents.header, headerSignature: contents.headerSignature, to: path,
                recipient: recipient,
                blockBytes: 1_000)
            try importBundle(
                path, into: receiver, as: "\(sender.name) → \(receiver.name) piece \(index + 1) of \(pieceCount)")
        }
    }

    /// A bundle given again: re-sending anything changes nothing (DESIGN §6.2).
    private func deliverAgain(_ path: String, to receiver: Node) throws {
        let before = try Snapshot(receiver)
        let label = "\(URL(fileURLWithPath: path).lastPathComponent) → \(receiver.name) again"
        guard let report = try importBundle(path, into: receiver, as: label) else { return }
        let after = try Snapshot(receiver)
        if report.new != 0 || after != before {
            problems.append(
                Difference(
                    confined: try isConfined(before, after),
                    text:
                        "\(label): a bundle delivered again changed the store (\(report.new) new; \(describe(before, after)))"
                ))
        }
    }

    /// A bundle cut short at a random byte: refused as truncated; every whole block before the cut is kept
    /// (DESIGN §6.3, resumable) and nothing else changes; when no block is whole the store is unchanged. The
    /// whole bundle, delivered next, completes it.
    private func deliverTruncated(from sender: Node, to receiver: Node) throws {
        let full = try export(from: sender, to: receiver)
        let size = Int64(try BundleSurgery.bytes(full).count)
        let cut = Int64.random(in: 1..<size, using: &random)
        let cutPath = full + ".cut"
        try BundleSurgery.truncatedCopy(of: full, to: cutPath, keeping: cut)
        let blocks = try BundleSurgery.read(full, key: receiver.key).blocks
        let whole = blocks.filter { $0.offset + Int64($0.storedByteCount) <= cut }
        let label =
            "\(sender.name) → \(receiver.name) cut at byte \(cut) of \(size) (\(whole.count) of \(blocks.count) blocks whole)"
        let before = try Snapshot(receiver)
        do {
            let report = try BundleImport.import(from: cutPath, into: receiver.store, key: receiver.key)
            problems.append(
                Difference(confined: false, text: "\(label): a truncated bundle was accepted (\(report.new) new)"))
        } catch {
            if error.code != .truncated {
                problems.append(
                    Difference(
                        confined: false,
                        text: "\(label): refused as \(error.code.rawValue), not truncated: \(error.message)"))
            }
        }
        note("\(label): refused")
        let after = try Snapshot(receiver)
        if whole.isEmpty {
            if after != before {
                problems.append(
                    Difference(
                        confined: false,
                        text: "\(label): nothing was whole, yet the store changed: \(describe(before, after))"))
            }
        } else {
            var allowed = before.evidence
            for record in whole.flatMap(\.records) { allowed.insert(try EventWireCodec.decode(record).id.text) }
            let extra = after.evidence.subtracting(allowed)
            if !extra.isEmpty {
                problems.append(
                    Difference(confined: false, text: "\(label): kept events from beyond the cut: \(extra.sorted())"))
            }
        }
        try importBundle(full, into: receiver, as: "\(sender.name) → \(receiver.name) whole, after the cut")
    }

    // MARK: Settling and comparing

    /// Every ordered pair (each compared store receiving from every store), in a random order, until a whole pass
    /// moves nothing (at most 8 passes).
    private func settle() throws {
        for pass in 1...8 {
            var moved = 0
            let receivers = nodes.filter(\.compared)
            var pairs = nodes.flatMap { sender in receivers.filter { $0.name != sender.name }.map { (sender, $0) } }
            pairs.shuffle(using: &random)
            for (sender, receiver) in pairs {
                let path = try export(from: sender, to: receiver, blockBytes: BundleWriter.defaultBlockBytes)
                if let report = try importBundle(path, into: receiver, as: "settle: \(sender.name) → \(receiver.name)")
                {
                    moved += report.new + report.admittedFromQuarantine
                }
            }
            note("settling pass \(pass): \(moved) moved")
            if moved == 0 { return }
        }
        problems.append(Difference(confined: false, text: "did not settle in 8 passes"))
    }

    /// The differences between what the compared stores hold: the same log, quarantine, fork evidence, registry
    /// and read models on every full replica; on the home device exactly its patient's slice; and on each, read
    /// models equal to a `rebuild` from the log. A difference only in a revoked or forked origin's events (or the
    /// read model of the patient they are about) is ``Difference/confined``; any other is not.
    ///
    /// One difference is by design (Schemas/sync.md, "Forks"): the log holds one chain per origin and is
    /// append-only, so of a forked origin each replica keeps in its log the branch that reached it first, from the
    /// fork position on, and the other branch as evidence or in quarantine. Those events are left out of the
    /// comparison of logs, quarantines and evidence; instead every full replica must know the fork at the same
    /// position with the same conflicting events, and hold both branches out of its read models (which are compared
    /// as everywhere else).
    func compare() throws -> [Difference] {
        var differences = problems
        let origins = try everyEventsOrigin()
        let positions = try everyEventsPosition()
        let troubled = troubledOrigins()
        let full = nodes.filter { $0.compared && $0.patient == nil }
        let forkedOrigin = troubles.fork ? node("desk").store.identity.origin.text : nil
        let forked = try full.map { try $0.store.forkedOrigins().filter { $0.origin == forkedOrigin } }
        let forkPosition = forked.first?.first?.originSeq
        if troubles.fork {
            for (node, known) in zip(full, forked) {
                let same = known.map { "\($0.originSeq) \($0.events)" } == forked[0].map { "\($0.originSeq) \($0.events)" }
                if known.isEmpty || !same {
                    differences.append(
                        Difference(
                            confined: true,
                            text:
                                "forks known differ: \(node.name) \(known.map { "\($0.originSeq) \($0.events)" }), \(full[0].name) \(forked[0].map { "\($0.originSeq) \($0.events)" })"
                        ))
                }
            }
        }
        /// Whether an event is of the forked origin's branches, from the fork position on.
        func isBranch(_ id: String) -> Bool {
            guard let forkedOrigin, let forkPosition, let position = positions[id] else { return false }
            return position.0 == forkedOrigin && position.1 >= forkPosition
        }
        func isTroubled(_ id: String) -> Bool { origins[id].map { troubled.contains($0) } ?? false }
        /// Records a difference of two id sets, split into the part confined to troubled origins and the rest.
        func compareIDs(_ what: String, _ a: Set<String>, _ b: Set<String>, _ nameA: String, _ nameB: String) {
            let onlyA = a.subtracting(b).filter { !isBranch($0) }
            let onlyB = b.subtracting(a).filter { !isBranch($0) }
            for confined in [false, true] {
                let partA = onlyA.filter { isTroubled($0) == confined }.sorted()
                let partB = onlyB.filter { isTroubled($0) == confined }.sorted()
                if !partA.isEmpty || !partB.isEmpty {
                    differences.append(
                        Difference(
                            confined: confined, text: "\(what) differ: only \(nameA) \(partA), only \(nameB) \(partB)"))
                }
            }
        }

        let snapshots = try full.map { try Snapshot($0) }
        let reference = snapshots[0]
        let referenceName = full[0].name
        for (node, snapshot) in zip(full, snapshots).dropFirst() {
            compareIDs("logs", Set(snapshot.log.map(\.text)), Set(reference.log.map(\.text)), node.name, referenceName)
            compareIDs(
                "quarantines", Set(snapshot.quarantine.map(\.text)), Set(reference.quarantine.map(\.text)), node.name,
                referenceName)
            if snapshot.forks.filter({ !isBranch($0) }) != reference.forks.filter({ !isBranch($0) }) {
                let confined = try (forks(of: node) + forks(of: full[0])).allSatisfy { troubled.contains($0.origin) }
                differences.append(
                    Difference(
                        confined: confined,
                        text:
                            "fork evidence differs: \(node.name) \(try describeForks(of: node)), \(referenceName) \(try describeForks(of: full[0]))"
                    ))
            }
            for origin in Set(snapshot.vector.heads.keys).union(reference.vector.heads.keys)
            where snapshot.vector[origin] != reference.vector[origin] && origin != forkedOrigin {
                differences.append(
                    Difference(
                        confined: troubled.contains(origin),
                        text:
                            "vectors differ at origin \(origin): \(node.name) \(snapshot.vector[origin]), \(referenceName) \(reference.vector[origin])"
                    ))
            }
            for origin in Set(snapshot.registry.devices.keys).union(reference.registry.devices.keys) {
                let a = snapshot.registry.devices[origin]
                let b = reference.registry.devices[origin]
                guard a != b, !Self.sameRoot(a, b) else { continue }
                differences.append(
                    Difference(
                        confined: troubled.contains(origin.text),
                        text:
                            "registries differ at \(a?.name ?? b?.name ?? origin.text): \(node.name) \(String(describing: a)), \(referenceName) \(String(describing: b))"
                    ))
            }
            differences += compareReadModels(snapshot.readModels, reference.readModels, node.name, referenceName)
        }

        // The home device: exactly its patient's slice of the full replicas' log, nothing of other patients.
        let home = node("home")
        let patientOf = try everyEventsPatient()
        let homeLog = Set(try home.store.events().map(\.event.id.text))
        if homeLog.contains(where: { patientOf[$0] != nil && patientOf[$0] != Self.homePatient }) {
            differences.append(Difference(confined: false, text: "home holds another patient's events"))
        }
        compareIDs(
            "home's slice and the replicas' p-1 events", homeLog.filter { patientOf[$0] == Self.homePatient },
            Set(reference.log.map(\.text)).filter { patientOf[$0] == Self.homePatient }, "home", referenceName)
        if try home.projected.state(of: Self.homePatient) != reference.readModels.states[Self.homePatient] {
            differences.append(Difference(confined: false, text: "home's state of p-1 differs from \(referenceName)'s"))
        }

        // Incremental equals rebuild, on every compared store, for every patient.
        for node in nodes where node.compared {
            let incremental = try ReadModels(node.projected)
            try node.projected.rebuild()
            let rebuilt = try ReadModels(node.projected)
            for difference in compareReadModels(
                incremental, rebuilt, "\(node.name) incremental", "\(node.name) rebuilt")
            {
                differences.append(Difference(confined: false, text: difference.text))
            }
        }
        return differences
    }

    /// Differences of two stores' read models; those of the troubled patient are confined when a trouble happened.
    private func compareReadModels(_ a: ReadModels, _ b: ReadModels, _ nameA: String, _ nameB: String) -> [Difference] {
        let troubledPatient = troubles.revocation || troubles.fork ? Self.troubledPatient.text : nil
        var differences: [Difference] = []
        for patient in Self.patients where a.states[patient] != b.states[patient] {
            differences.append(
                Difference(
                    confined: patient.text == troubledPatient,
                    text:
                        "states of \(patient) differ: \(nameA) \(a.states[patient]?.eventCount ?? 0) events, \(nameB) \(b.states[patient]?.eventCount ?? 0)"
                ))
        }
        for patient in Set(a.patients.map(\.patient) + b.patients.map(\.patient)) {
            if a.patients.filter({ $0.patient == patient }) != b.patients.filter({ $0.patient == patient }) {
                differences.append(
                    Difference(
                        confined: patient == troubledPatient, text: "summaries of \(patient) differ: \(nameA), \(nameB)"
                    ))
            }
        }
        let alertsA = Set(a.alerts)
        let alertsB = Set(b.alerts)
        for alert in alertsA.symmetricDifference(alertsB) {
            // A fork's alert is listed for the patient of the conflicting event; with no patient, "-".
            let patient = String(alert.prefix { $0 != " " })
            let isForkAlert = alert.contains(" \(AlertKind.forkDetected.rawValue) ")
            differences.append(
                Difference(
                    confined: patient == troubledPatient || (isForkAlert && troubles.fork),
                    text: "alert only on \(alertsA.contains(alert) ? nameA : nameB): \(alert)"))
        }
        return differences
    }

    /// Whether both records are the clinic root's, equal but for its name: each store names the root as it
    /// learnt it (its own device name on the root, "clinic root" where it was joined), and no event carries it.
    private static func sameRoot(_ a: DeviceRecord?, _ b: DeviceRecord?) -> Bool {
        guard let a, let b, a.role == .root, b.role == .root else { return false }
        return a.publicKey == b.publicKey && a.patient == b.patient && a.enrolledBy == b.enrolledBy
            && a.updatedHLC == b.updatedHLC && a.revokedAfter == b.revokedAfter && a.revokedBy == b.revokedBy
            && a.frozenReason == b.frozenReason
    }

    /// The origins of the revoked tablet and of the forked desk, when those troubles happened.
    private func troubledOrigins() -> Set<String> {
        var origins: Set<String> = []
        if troubles.revocation { origins.insert(node("tablet").store.identity.origin.text) }
        if troubles.fork { origins.insert(node("desk").store.identity.origin.text) }
        return origins
    }

    /// Whether everything that changed between two snapshots of one store concerns troubled origins.
    private func isConfined(_ before: Snapshot, _ after: Snapshot) throws -> Bool {
        let origins = try everyEventsOrigin()
        let troubled = troubledOrigins()
        let changed = before.evidence.symmetricDifference(after.evidence)
        let changedOrigins = Set(before.registry.devices.keys).union(after.registry.devices.keys)
            .filter { before.registry.devices[$0] != after.registry.devices[$0] }.map(\.text)
        return changed.allSatisfy { origins[$0].map { troubled.contains($0) } ?? false }
            && changedOrigins.allSatisfy { troubled.contains($0) }
            && compareReadModels(before.readModels, after.readModels, "before", "after").allSatisfy(\.confined)
    }

    private func forks(of node: Node) throws -> [ForkEvidence] { try node.store.forks() }

    /// A store's fork evidence: the position, the event held there and the other event.
    private func describeForks(of node: Node) throws -> [String] {
        let held = Dictionary(
            try node.store.events().map { ("\($0.event.origin.text)/\($0.event.originSeq)", $0.event.id.text) },
            uniquingKeysWith: { first, _ in first })
        return try node.store.forks().map { fork in
            "\(fork.origin.prefix(6))/\(fork.originSeq): held \(held["\(fork.origin)/\(fork.originSeq)"] ?? "none"), other \(fork.otherEvent)"
        }
    }

    /// The patient of every event any store of the schedule recorded, by id.
    private func everyEventsPatient() throws -> [String: PatientID] {
        var result: [String: PatientID] = [:]
        for node in nodes {
            for stored in try node.store.events() where stored.event.patient != nil {
                result[stored.event.id.text] = stored.event.patient
            }
        }
        return result
    }

    /// The origin and position of every event any store of the schedule recorded, by id.
    private func everyEventsPosition() throws -> [String: (String, Int64)] {
        var result: [String: (String, Int64)] = [:]
        for node in nodes {
            for stored in try node.store.events() {
                result[stored.event.id.text] = (stored.event.origin.text, stored.event.originSeq)
            }
        }
        return result
    }

    /// The origin of every event any store of the schedule recorded, by id.
    private func everyEventsOrigin() throws -> [String: String] {
        var result: [String: String] = [:]
        for node in nodes {
            for stored in try node.store.events() { result[stored.event.id.text] = stored.event.origin.text }
        }
        return result
    }

    private func describe(_ before: Snapshot, _ after: Snapshot) -> String {
        var parts: [String] = []
        if before.log != after.log {
            parts.append(
                "log +\(after.log.subtracting(before.log).map(\.text).sorted()) -\(before.log.subtracting(after.log).map(\.text).sorted())"
            )
        }
        if before.quarantine != after.quarantine {
            parts.append(
                "quarantine +\(after.quarantine.subtracting(before.quarantine).map(\.text).sorted()) -\(before.quarantine.subtracting(after.quarantine).map(\.text).sorted())"
            )
        }
        if before.forks != after.forks { parts.append("forks \(before.forks.sorted()) → \(after.forks.sorted())") }
        if before.vector != after.vector { parts.append("vector changed") }
        if before.registry != after.registry { parts.append("registry changed") }
        if before.readModels != after.readModels {
            parts.append("read models: \(describe(before.readModels, after.readModels))")
        }
        return parts.joined(separator: "; ")
    }

    private func describe(_ a: ReadModels, _ b: ReadModels) -> String {
        var parts: [String] = []
        if a.patients != b.patients { parts.append("summaries differ") }
        if a.alerts != b.alerts { parts.append("alerts \(a.alerts) vs \(b.alerts)") }
        for patient in Self.patients where a.states[patient] != b.states[patient] {
            parts.append(
                "state of \(patient) differs (events \(a.states[patient]?.eventCount ?? 0) vs \(b.states[patient]?.eventCount ?? 0))"
            )
        }
        return parts.joined(separator: "; ")
    }
}
