import Foundation
import ProloDomain
import ProloPages
import ProloStore
import ProloTestSupport
import Testing

/// The devices page over a store that holds what the page exists to show: a device whose events wait in
/// quarantine, a forked origin, and events of a device never enrolled here.
@Suite("the devices page: quarantine and forks")
struct DevicesPageTests {
    static let viewer = PageViewer(
        description: "clinic token t", csrfToken: "c0ffee", mayReadClinic: true, mayRecord: true)

    @Test(
        "a laptop's events after a gap, a restored desk's fork and an unknown origin's events show with their counts and labels"
    )
    func quarantineAndForks() throws {
        try TemporaryDirectory.with { directory in
            let clinic = try ClinicFixture(in: directory)
            let root = clinic.root
            let laptop = try clinic.addDevice("laptop", role: .clinic)
            let desk = try clinic.addDevice("desk", role: .clinic)

            // The laptop's #3 is lost on the way: #4 to #6 wait for it.
            let laptopEvents = try laptop.store.record(
                try (0..<6).map { try Fixtures.painDraft(patient: "p-1", score: $0) }, signedBy: laptop.key
            ).map(\.event)
            try root.store.append(Array(laptopEvents.prefix(2)))
            let gap = try root.store.append(Array(laptopEvents[3...]))
            #expect(gap.quarantined.count == 3)

            // The desk restored from a backup signs another #1 with the same key: a fork, and the origin frozen.
            let deskEvents = try desk.store.record(
                [try Fixtures.painDraft(patient: "p-2", score: 5), try Fixtures.painDraft(patient: "p-2", score: 4)],
                signedBy: desk.key
            ).map(\.event)
            let restored = try EventStore.create(
                at: directory.file("desk-restored.sqlite"), deviceName: "desk", key: desk.key)
            let conflicting = try restored.record(
                [try Fixtures.painDraft(patient: "p-2", score: 9)], signedBy: desk.key
            )
            .map(\.event)
            try root.store.append(deskEvents)
            let fork = try root.store.append(conflicting)
            #expect(fork.forks.count == 1)

            // A device no one enrolled here.
            let (stranger, strangerKey) = try Fixtures.makeStore(
                in: directory, name: "stranger", deviceName: "stranger")
            let strays = try stranger.record([try Fixtures.painDraft(patient: "p-3", score: 2)], signedBy: strangerKey)
                .map(\.event)
            #expect(try root.store.append(strays).quarantined.count == 1)

            let model = try DevicesPage.read(from: root.store)
            let laptopRow = try #require(model.rows.first { $0.device.name == "laptop" })
            #expect(laptopRow.quarantined.map(\.originSeq) == [4, 5, 6] && laptopRow.chainHead == 2)
            #expect(laptopRow.forks.isEmpty)
            let deskRow = try #require(model.rows.first { $0.device.name == "desk" })
            #expect(deskRow.forks.map(\.originSeq) == [1] && deskRow.quarantined.isEmpty)
            #expect(deskRow.device.frozenReason != nil)
            #expect(model.unknownQuarantine.map(\.origin) == [strangerKey.publicKey.origin])

            let html = DevicesPage.html(model, clock: ClinicClock(), clinic: "Test clinic", viewer: Self.viewer)
            #expect(
                html.contains(
                    "3 enrolled devices; 4 events in quarantine; 1 device with a proven fork."),
                "the summary line counts the laptop's three and the stranger's one, and the desk")
            let rows = html.components(separatedBy: "<tr class=\"device\">").dropFirst()
            let laptopHTML = try #require(rows.first { $0.contains("laptop<br>") })
            for position in 4...6 {
                #expect(laptopHTML.contains("<span class=\"badge warn\">#\(position)</span>"), "#\(position)")
            }
            #expect(laptopHTML.contains("waiting for 3"), "the quarantine's reason")
            #expect(laptopHTML.contains("badge ok\">active<") && laptopHTML.contains("<td>none</td></tr>"), "no fork")
            let deskHTML = try #require(rows.first { $0.contains("desk<br>") })
            #expect(deskHTML.contains("<span class=\"badge danger\">fork at #1</span> detected <time"))
            #expect(deskHTML.contains("<span class=\"badge danger\">frozen</span>"))
            #expect(deskHTML.contains("<td>none</td>"), "nothing of the desk in quarantine")
            #expect(html.contains("<h2>Quarantined from devices not enrolled here</h2>"))
            #expect(html.contains("<code>\(strangerKey.publicKey.origin.text)</code>") && html.contains("not enrolled"))
        }
    }
}
