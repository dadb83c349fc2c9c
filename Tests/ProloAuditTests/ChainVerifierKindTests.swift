import Foundation
import ProloAudit
import ProloDomain
import ProloProjections
import ProloStore
import ProloSync
import ProloTestSupport
import Testing

/// Edits the store file through a second connection of its own, as anyone with write access to the file could:
/// drops the append-only triggers, runs `edit`, and puts the triggers back exactly as they were (so what is
/// found is the edit, not a missing trigger).
private func tamper(_ store: EventStore, _ edit: (SQLiteConnection) throws -> Void) throws {
    let connection = try SQLiteConnection(path: store.path)
    let statement = try connection.statement(
        "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'events'")
    var triggers: [String] = []
    while try statement.step() { triggers.append(statement.text(0)) }
    statement.reset()
    try #require(triggers.count == 2)
    try connection.execute("DROP TRIGGER events_refuse_update; DROP TRIGGER events_refuse_delete;")
    try edit(connection)
    for sql in triggers { try connection.execute(sql) }
}

/// Copies the rows of `ids` from another store's log into `store`'s with a plain INSERT (the triggers refuse only
/// UPDATE and DELETE).
private func copyRows(_ ids: [EventID], from other: EventStore, into store: EventStore) throws {
    let connection = try SQLiteConnection(path: store.path)
    let columns =
        "id, origin, origin_seq, patient, type, schema_version, hlc, occurred_at, occurred_ms, received_at, author_id, "
        + "author_role, prev, patient_prev, dict, body, hash, sig"
    try connection.execute("ATTACH DATABASE '\(other.path)' AS other")
    for id in ids {
        try connection.execute(
            "INSERT INTO events (\(columns)) SELECT \(columns) FROM other.events WHERE id = '\(id.text)'")
    }
    try connection.execute("DETACH DATABASE other")
}

/// `event` with another `patientPrev`, hashed and signed again by `key`: validly signed, so only the checks above
/// hash and signature can object to it.
private func resealed(_ event: Event, patientPrev: EventHash?, key: DeviceKey) throws -> Event {
    func make(hash: EventHash, signature: [UInt8]) -> Event {
        Event(
            id: event.id, origin: event.origin, originSeq: event.originSeq, prev: event.prev, patientPrev: patientPrev,
            hlc: event.hlc, occurredAt: event.occurredAt, patient: event.patient, type: event.type,
            schemaVersion: event.schemaVersion, author: event.author, dictionary: event.dictionary, body: event.body,
            hash: hash, signature: signature)
    }
    let unsigned = make(hash: event.hash, signature: [])
    let hash = Event.computeHash(envelope: unsigned.canonicalEnvelope, body: unsigned.body)
    return make(hash: hash, signature: try key.signature(for: hash.bytes))
}

/// Checks that `report` names exactly this problem, by kind, at exactly this event, with the triggers in place.
private func expectKind(
    _ report: VerificationReport, _ kind: VerificationProblem.Kind, origin: Identifier, originSeq: Int64,
    event: EventID,
    sourceLocation: SourceLocation = #_sourceLocation
) throws {
    try expectProblem(
        report, kind, origin: origin.text, originSeq: originSeq, event: event, sourceLocation: sourceLocation)
    #expect(report.firstProblem?.description.contains(kind.rawValue) == true, sourceLocation: sourceLocation)
    #expect(report.triggersIntact, "the edit put the triggers back", sourceLocation: sourceLocation)
}

/// One test per finding the verifier had no kind assertion for: each names the kind, origin, position and event.
@Suite("audit verify names the kind of every finding")
struct ChainVerifierKindTests {
    private static let start = Timestamp.now().millisecondsSinceEpoch - 20 * AuditStory.day

    @Test("a validly signed chain of an origin no enrollment admits, inserted into the log, is unenrolled-origin at its first event")
    func unenrolledOrigin() throws {
        try TemporaryDirectory.with { directory in
            let clinic = try ClinicFixture(in: directory)
            try clinic.root.store.record(
                [try AuditStory.pain("p-1", score: 5, at: AuditStory.at(Self.start))], signedBy: clinic.root.key)
            // A device set up to trust this root but never enrolled: its own events are validly signed.
            let stray = try clinic.addDevice("stray", enroll: false)
            let events = try stray.store.record(
                [try AuditStory.pain("p-1", score: 2, at: .now()), try AuditStory.pain("p-1", score: 1, at: .now())],
                signedBy: stray.key
            ).map(\.event)
            #expect(try ChainVerifier.verify(clinic.root.store).isClean)
            try copyRows(events.map(\.id), from: stray.store, into: clinic.root.store)
            #expect(try clinic.root.store.event(id: events[1].id)?.event == events[1])
            let report = try ChainVerifier.verify(clinic.root.store)
            try expectKind(
                report, .unenrolledOrigin, origin: stray.store.identity.origin, originSeq: 1, event: events[0].id)
        }
    }

    @Test("a device's broken patient link the store holds flagged is counted as held and the history verifies; with its flag removed it is broken-patient-link")
    func heldBrokenPatientLink() throws {
        try TemporaryDirectory.with { directory in
            let clinic = try ClinicFixture(in: directory)
            var app = ForeignDevice()
            try clinic.enroll(app.key.publicKey, name: "home-app", role: .home, patient: "p-1")
            let first = try app.painReport("p-1", score: 6)
            let unlinked = try app.painReport("p-1", score: 9, patientPrev: .some(nil))
            let next = try app.painReport("p-1", score: 3)
            try clinic.root.store.append([first, unlinked, next])
            let held = try ChainVerifier.verify(clinic.root.store)
            #expect(held.isClean, "\(String(describing: held.firstProblem))")
            #expect(held.heldBrokenPatientLinks == 1)

            try tamper(clinic.root.store) { connection in
                try connection.execute("DELETE FROM event_flags WHERE id = '\(unlinked.id.text)'")
            }
            let report = try ChainVerifier.verify(clinic.root.store)
            try expectKind(report, .brokenPatientLink, origin: app.key.publicKey.origin, originSeq: 2, event: unlinked.id)
        }
    }

    @Test("an event re-signed with the right key but a patientPrev that skips the patient's previous event is broken-patient-link there")
    func brokenPatientLink() throws {
        try TemporaryDirectory.with { directory in
            let clinic = try ClinicFixture(in: directory)
            let root = clinic.root
            let events = try root.store.record(
                [
                    try AuditStory.pain("p-1", score: 6, at: AuditStory.at(Self.start)),
                    try AuditStory.pain("p-2", score: 4, at: AuditStory.at(Self.start)),
                    try AuditStory.pain("p-1", score: 3, at: AuditStory.at(Self.start + AuditStory.day)),
                ], signedBy: root.key
            ).map(\.event)
            let target = events[2]
            #expect(target.patientPrev == events[0].hash)
            // The same event claiming to be p-1's first of this origin: prev, hash and signature all hold.
            let forged = try resealed(target, patientPrev: nil, key: root.key)
            #expect(forged.hasValidHash && forged.prev == events[1].hash)
            try tamper(root.store) { connection in
                let statement = try connection.statement(
                    "UPDATE events SET patient_prev = NULL, hash = ?, sig = ? WHERE id = ?")
                statement.bind(1, forged.hash.bytes)
                statement.bind(2, forged.signature)
                statement.bind(3, target.id.text)
                try statement.run()
            }
            let report = try ChainVerifier.verify(root.store)
            try expectKind(
                report, .brokenPatientLink, origin: root.store.identity.origin, originSeq: 3, event: target.id)
            #expect(report.eventsChecked == 2)
        }
    }

    @Test("a row whose columns no longer decode is damaged-row at that row, in a chain and in the registry, reported rather than thrown")
    func damagedRow() throws {
        try TemporaryDirectory.with { directory in
            let clinic = try ClinicFixture(in: directory)
            let root = clinic.root
            let enrollment = try clinic.enroll(try clinic.addDevice("laptop", enroll: false), role: .clinic).event
            let events = try root.store.record(
                [
                    try AuditStory.pain("p-1", score: 6, at: AuditStory.at(Self.start)),
                    try AuditStory.pain("p-1", score: 5, at: AuditStory.at(Self.start + AuditStory.day)),
                ], signedBy: root.key
            ).map(\.event)
            let origin = root.store.identity.origin
            #expect(try ChainVerifier.verify(root.store).isClean)
            let damagedSeq = try #require(try root.store.event(id: events[0].id)).seq

            // A clinical event whose author role is no role at all.
            try tamper(root.store) { connection in
                try connection.execute("UPDATE events SET author_role = 'wizard' WHERE id = '\(events[0].id.text)'")
            }
            // Read through the store, the row is an I/O error that says where in the log it is.
            let readError = #expect(throws: StoreError.self) { try root.store.event(id: events[0].id) }
            #expect(readError?.code == .ioError)
            #expect(readError?.offset == .log(damagedSeq))
            let report = try ChainVerifier.verify(root.store)
            try expectKind(report, .damagedRow, origin: origin, originSeq: events[0].originSeq, event: events[0].id)
            #expect(
                report.firstProblem?.message.contains("wizard") == true, "\(String(describing: report.firstProblem))")

            // The enrollment (read first, to rebuild the registry) with a hash that is not 32 bytes.
            try tamper(root.store) { connection in
                try connection.execute("UPDATE events SET author_role = 'clinician' WHERE id = '\(events[0].id.text)'")
                try connection.execute("UPDATE events SET hash = X'0102' WHERE id = '\(enrollment.id.text)'")
            }
            let registryReport = try ChainVerifier.verify(root.store)
            try expectKind(registryReport, .damagedRow, origin: origin, originSeq: 1, event: enrollment.id)
        }
    }

    @Test("a validly signed device.enrolled whose payload this build cannot read is held without effect, and the store still verifies")
    func unreadableRegistryPayloadIsNotDamage() throws {
        try TemporaryDirectory.with { directory in
            let clinic = try ClinicFixture(in: directory)
            let root = clinic.root
            let laptop = try clinic.addDevice("laptop")
            let enrollment = try #require(try root.store.events(EventFilter(type: .deviceEnrolled)).first).event
            let head = try laptop.store.record(
                [try AuditStory.pain("p-1", score: 6, at: .now())], signedBy: laptop.key)[0].event
            try clinic.transfer(from: laptop, to: root)
            // The laptop's next event (an admin device of another build): an enrollment whose body does not inflate.
            let unreadable = try resealed(
                Event(
                    id: UUIDv7.make(milliseconds: Timestamp.now().millisecondsSinceEpoch), origin: head.origin,
                    originSeq: head.originSeq + 1, prev: head.hash, patientPrev: nil,
                    hlc: HLC(wallMilliseconds: head.hlc.wallMilliseconds + 1000, counter: 0), occurredAt: .now(),
                    patient: nil,
                    type: .deviceEnrolled, schemaVersion: 1, author: enrollment.author,
                    dictionary: enrollment.dictionary,
                    body: [0xde, 0xad, 0xbe, 0xef], hash: enrollment.hash, signature: []),
                patientPrev: nil, key: laptop.key)
            #expect(unreadable.hasValidHash)
            #expect((try? unreadable.payload()) == nil)
            // The receive path holds it (authentic history), without effect on the registry.
            let registry = try root.store.registry()
            try root.store.append([unreadable])
            #expect(try root.store.event(id: unreadable.id) != nil)
            #expect(try root.store.registry() == registry)
            let report = try ChainVerifier.verify(root.store)
            #expect(report.isClean, "\(String(describing: report.firstProblem))")
            #expect(report.heads.first { $0.origin == head.origin.text }?.originSeq == unreadable.originSeq)
        }
    }

    @Test("fork evidence held for an origin that is not frozen is unreported-fork, naming the conflicting event")
    func unreportedFork() throws {
        try TemporaryDirectory.with { directory in
            let clinic = try ClinicFixture(in: directory)
            let root = clinic.root
            // One key in two stores: a laptop and its restored backup both write originSeq 1.
            let key = DeviceKey()
            let trust = StoreTrust.joining(root: root.key.publicKey, homePatient: nil)
            let original = try ProjectedStore.create(
                at: directory.file("laptop.sqlite"), deviceName: "laptop", key: key, trust: trust)
            let restored = try ProjectedStore.create(
                at: directory.file("laptop-restored.sqlite"), deviceName: "laptop", key: key, trust: trust)
            let payload = DeviceEnrolled(
                deviceName: "laptop", publicKey: try PublicKeyBase64(checked: key.publicKey.base64), role: .clinic,
                patient: nil,
                enrolledBy: try Identifier(checked: root.store.identity.origin.text))
            try root.store.record(
                [
                    try EventDraft(
                        payload, patient: nil, occurredAt: .now(), author: Author(id: "admin-1", role: .admin))
                ],
                signedBy: root.key)
            try original.store.record([try AuditStory.pain("p-1", score: 6, at: .now())], signedBy: key)
            let other = try restored.store.record([try AuditStory.pain("p-1", score: 2, at: .now())], signedBy: key)[0]
                .event
            for store in [original.store, restored.store] {
                let path = clinic.bundlePath()
                try BundleExport.export(
                    from: store, signedBy: key, to: path,
                    options: BundleExport.Options(cutAgainst: VersionVector()))
                _ = try BundleImport.import(from: path, into: root.store, key: root.key)
            }
            let origin = key.publicKey.origin
            #expect(try root.store.forks().map(\.otherEvent) == [other.id.text])
            // Reported: the origin is frozen, and that is a verified store.
            #expect(try ChainVerifier.verify(root.store).isClean)

            // Someone thaws the origin by hand (the registry table has no triggers) to let its events in again.
            let connection = try SQLiteConnection(path: root.store.path)
            try connection.execute("UPDATE origins SET frozen_reason = NULL WHERE origin = '\(origin.text)'")
            #expect(try root.store.registry().devices[origin]?.frozenReason == nil)
            let report = try ChainVerifier.verify(root.store)
            try expectKind(report, .unreportedFork, origin: origin, originSeq: 1, event: other.id)
        }
    }
}
