import Foundation
import ProloAudit
import ProloDomain
import ProloProjections
import ProloStore
import ProloSync
import ProloTestSupport
import Testing

@Suite("audit timeline")
struct AuditTimelineTests {
    /// Events recorded in this order across the root and a laptop (each on a later HLC than the one before):
    /// root: consent (1), pain 5 (2); laptop, offline: injection (3), pain 6 (4); root: amends 2 (5), pain 4 (6);
    /// the laptop's events then arrive at the root; root: retracts 4 (7), amends 2 again (8).
    private struct Story {
        let clinic: ClinicFixture
        let patient: PatientID = "p-timeline"
        /// The eight events in recording order.
        let events: [Event]
        let beforeArrival: Timestamp

        init(in directory: TemporaryDirectory) throws {
            clinic = try ClinicFixture(in: directory)
            let laptop = try clinic.addDevice("front-desk-laptop")
            let root = clinic.root
            let start = Timestamp.now().millisecondsSinceEpoch - 10 * AuditStory.day
            func record(_ device: ClinicFixture.Device, _ draft: EventDraft) throws -> Event {
                Thread.sleep(forTimeInterval: 0.003)
                return try device.store.recordOne(draft, key: device.key).event
            }
            var events: [Event] = []
            events.append(try record(root, try AuditStory.consent(patient, at: AuditStory.at(start))))
            events.append(try record(root, try AuditStory.pain(patient, score: 5, at: AuditStory.at(start + AuditStory.day))))
            events.append(try record(laptop, try AuditStory.injection(patient, at: AuditStory.at(start + 2 * AuditStory.day))))
            events.append(try record(laptop, try AuditStory.pain(patient, score: 6, at: AuditStory.at(start + 3 * AuditStory.day))))
            events.append(try record(root, try AuditStory.amendPain(events[1].id, patient, to: 4, at: .now())))
            events.append(try record(root, try AuditStory.pain(patient, score: 4, at: AuditStory.at(start + 4 * AuditStory.day))))
            beforeArrival = moment()
            try clinic.transfer(from: laptop, to: root)
            events.append(try record(root, try AuditStory.retract(events[3].id, patient, at: .now())))
            events.append(try record(root, try AuditStory.amendPain(events[1].id, patient, to: 3, at: .now())))
            self.events = events
        }
    }

    @Test("entries are in canonical (HLC) order, not arrival order, with the device names of the registry and the three times")
    func canonicalOrder() throws {
        try TemporaryDirectory.with { directory in
            let story = try Story(in: directory)
            let entries = try AuditTimeline.entries(of: story.patient, in: story.clinic.root.store, for: testAuditor).value
            #expect(entries.map(\.event.id) == story.events.map(\.id))
            // Sorted by (hlc, origin, originSeq).
            for (earlier, later) in zip(entries, entries.dropFirst()) {
                let ordered =
                    (earlier.event.hlc, earlier.event.origin.text, earlier.event.originSeq)
                    < (later.event.hlc, later.event.origin.text, later.event.originSeq)
                #expect(ordered, "\(earlier.event.id) before \(later.event.id)")
            }
            // The root received the laptop's two events after its own 5 and 6: arrival order differs.
            let seqs = entries.map(\.seq)
            #expect(seqs != seqs.sorted())
            #expect(entries[2].seq > entries[5].seq && entries[3].seq > entries[5].seq)

            let rootOrigin = story.clinic.root.store.identity.origin
            for entry in entries {
                let expectedDevice = entry.event.origin == rootOrigin ? "root" : "front-desk-laptop"
                #expect(entry.device == expectedDevice, "\(entry.event.type) from \(entry.event.origin)")
                #expect(entry.recordedAt.millisecondsSinceEpoch == entry.event.hlc.wallMilliseconds)
                #expect(entry.receivedAt >= entry.recordedAt)
            }
            // Late arrivals: recorded before the root's events 5 and 6, received after the moment taken after them.
            for late in [entries[2], entries[3]] {
                #expect(late.recordedAt < entries[4].recordedAt)
                #expect(late.receivedAt > story.beforeArrival)
            }
            // The pain reports occurred days before they were recorded; the timeline keeps both times.
            #expect(entries[1].event.occurredAt < entries[1].recordedAt)

            // On the laptop, after the root's events arrive there, the root is named as the laptop's registry names it.
            try story.clinic.transfer(from: story.clinic.root, to: story.clinic.device("front-desk-laptop"))
            let laptopEntries = try AuditTimeline.entries(of: story.patient, in: story.clinic.device("front-desk-laptop").store, for: testAuditor).value
            #expect(laptopEntries.map(\.event.id) == story.events.map(\.id))
            for entry in laptopEntries {
                #expect(entry.device == (entry.event.origin == rootOrigin ? "clinic root" : "front-desk-laptop"))
            }
        }
    }

    @Test("amendments and retractions are listed against their targets: corrects on the correction, correctedBy on the target")
    func corrections() throws {
        try TemporaryDirectory.with { directory in
            let story = try Story(in: directory)
            let entries = try AuditTimeline.entries(of: story.patient, in: story.clinic.root.store, for: testAuditor).value
            try #require(entries.count == 8)
            let ids = story.events.map(\.id)
            #expect(entries[4].corrects == ids[1])
            #expect(entries[6].corrects == ids[3])
            #expect(entries[7].corrects == ids[1])
            // Both amendments of event 2, in canonical order.
            #expect(entries[1].correctedBy == [ids[4], ids[7]])
            #expect(entries[3].correctedBy == [ids[6]])
            for index in [0, 1, 2, 3, 5] { #expect(entries[index].corrects == nil, "entry \(index)") }
            for index in [0, 2, 4, 5, 6, 7] { #expect(entries[index].correctedBy.isEmpty, "entry \(index)") }

            // The CLI prints the same, as JSON.
            let result = try CommandRunner.prolo([
                "audit", "timeline", "--store", story.clinic.root.store.path, "--patient", story.patient.text, "--json",
            ])
            try #require(result.status == 0, "\(result.stderr)")
            let array = try #require(try parseJSON(result.stdout) as? [[String: Any]])
            #expect(array.map { $0["id"] as? String } == ids.map(\.text))
            #expect(array[1]["correctedBy"] as? [String] == [ids[4].text, ids[7].text])
            #expect(array[6]["corrects"] as? String == ids[3].text)
            #expect(array[2]["device"] as? String == "front-desk-laptop")
            #expect(array[0]["device"] as? String == "root")
        }
    }
}
