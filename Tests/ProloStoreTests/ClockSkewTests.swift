import Foundation
import ProloDomain
import ProloStore
import ProloTestSupport
import Testing

/// A device whose wall clock runs far ahead must not drag this store's clock along (DESIGN §3): the store flags
/// its events `future-hlc` and its own next events keep real time.
@Suite("Clock skew at the store")
struct ClockSkewTests {
    private let patient: PatientID = "p-0001"
    private let day: Int64 = 86_400_000

    private static func wallNow() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    @Test("an enrolled device's event 30 days ahead is flagged future-hlc, and the next local record's HLC stays near now")
    func farFutureEventIsFlaggedAndIgnoredByTheClock() throws {
        try TemporaryDirectory.with { directory in
            let clinic = try ClinicFixture(in: directory)
            var skewed = ForeignDevice()
            try clinic.enroll(skewed.key.publicKey, name: "skewed-tablet", role: .home, patient: patient)
            let ahead = try skewed.seal(
                .painReported, patient: patient,
                body: .json(#"{"instrument":"nrs","reporter":{"id":"p-0001","role":"patient"},"score":5}"#),
                wallMilliseconds: Self.wallNow() + 30 * day)
            let outcome = try clinic.root.store.append([ahead])
            #expect(outcome.appended.map(\.event.id) == [ahead.id])
            #expect(outcome.flagged == [ahead.id])
            let flags = try clinic.root.store.read { connection throws(StoreError) -> [String] in
                let statement = try connection.statement("SELECT flag FROM event_flags WHERE id = ?")
                statement.bind(1, ahead.id.text)
                var flags: [String] = []
                while try statement.step() { flags.append(statement.text(0)) }
                statement.reset()
                return flags
            }
            #expect(flags == ["future-hlc"], "the flag names the clock skew")
            #expect(outcome.held.isEmpty, "a skewed clock is flagged, not held: the payload is readable")

            let before = Self.wallNow()
            let local = try clinic.root.store.record([try Fixtures.painDraft(patient: patient, score: 4)], signedBy: clinic.root.key)
            let after = Self.wallNow()
            let stamped = local[0].event.hlc.wallMilliseconds
            #expect(stamped >= before - 1_000 && stamped <= after + 1_000, "the local clock was dragged to \(local[0].event.hlc)")
            #expect(local[0].event.hlc < ahead.hlc)
        }
    }

    @Test("an event within the drift bound (an hour ahead) is not flagged and orders the next local event after it")
    func nearFutureEventAdvancesTheClock() throws {
        try TemporaryDirectory.with { directory in
            let clinic = try ClinicFixture(in: directory)
            var fast = ForeignDevice()
            try clinic.enroll(fast.key.publicKey, name: "fast-tablet", role: .home, patient: patient)
            let ahead = try fast.painReport(patient, score: 5)
            let hourAhead = try fast.seal(
                .painReported, patient: patient,
                body: .json(#"{"instrument":"nrs","reporter":{"id":"p-0001","role":"patient"},"score":6}"#),
                wallMilliseconds: Self.wallNow() + 3_600_000)
            let outcome = try clinic.root.store.append([ahead, hourAhead])
            #expect(outcome.flagged.isEmpty)
            let local = try clinic.root.store.record([try Fixtures.painDraft(patient: patient, score: 4)], signedBy: clinic.root.key)
            #expect(local[0].event.hlc > hourAhead.hlc, "causality: what this store records after seeing an event orders after it")
        }
    }
}
