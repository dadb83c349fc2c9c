import ProloDomain
import Testing

@Suite("Hybrid logical clock, timestamps and UUID v7")
struct ClockTests {
    @Test("local ticks strictly increase even when the wall clock stalls or goes back")
    func ticksIncrease() {
        var clock = HybridClock()
        var last = clock.tick(wallMilliseconds: 1_000)
        for wall in [1_000, 1_000, 999, 500, 1_001, 1_001] as [Int64] {
            let next = clock.tick(wallMilliseconds: wall)
            #expect(next > last)
            last = next
        }
    }

    @Test("a received reading moves the clock forward so later local events order after it")
    func receiveAdvances() {
        var clock = HybridClock()
        _ = clock.tick(wallMilliseconds: 1_000)
        let remote = HLC(wallMilliseconds: 5_000, counter: 3)
        #expect(clock.receive(remote, wallMilliseconds: 1_000) == false)
        #expect(clock.tick(wallMilliseconds: 1_000) > remote)
    }

    @Test("a reading more than 24 h ahead is flagged and not observed: the next local tick stays at the wall clock")
    func boundedDrift() {
        var clock = HybridClock()
        let now: Int64 = 1_790_000_000_000
        let farFuture = HLC(wallMilliseconds: now + 30 * 86_400_000, counter: 0)
        #expect(clock.receive(farFuture, wallMilliseconds: now) == true)
        #expect(clock.tick(wallMilliseconds: now) == HLC(wallMilliseconds: now, counter: 0))
        let withinBound = HLC(wallMilliseconds: now + HybridClock.defaultMaximumDrift, counter: 0)
        #expect(clock.receive(withinBound, wallMilliseconds: now) == false)
        #expect(clock.tick(wallMilliseconds: now) > withinBound)
    }

    @Test("HLC text is fixed-width hex that sorts like the reading and round-trips")
    func hlcText() throws {
        let readings = [HLC(wallMilliseconds: 1, counter: 0), HLC(wallMilliseconds: 1, counter: 17),
            HLC(wallMilliseconds: 1_790_000_000_000, counter: 65_535)]
        #expect(readings.map(\.description) == readings.map(\.description).sorted())
        for reading in readings {
            #expect(try HLC(checked: reading.description) == reading)
            #expect(HLC(packed: reading.packed) == reading)
        }
        #expect(throws: PayloadError.self) { try HLC(checked: "01a2-0000") }
    }

    @Test("RFC 3339 UTC times parse to the right instant and impossible ones are refused")
    func timestamps() throws {
        #expect(try Timestamp(checked: "1970-01-01T00:00:00Z").millisecondsSinceEpoch == 0)
        #expect(try Timestamp(checked: "2026-03-02T09:30:00.25Z").millisecondsSinceEpoch == 1_772_443_800_250)
        #expect(Timestamp(millisecondsSinceEpoch: 1_772_443_800_250).text == "2026-03-02T09:30:00.250Z")
        #expect(try Timestamp(checked: "2024-02-29T23:59:59Z").day == CalendarDay(year: 2024, month: 2, day: 29))
        for bad in ["2026-02-30T00:00:00Z", "2026-03-02T09:30:00+01:00", "2026-03-02 09:30:00Z", "2026-03-02T24:00:00Z",
            "2026-03-02T09:30:00.1234Z", "yesterday"]
        {
            #expect(throws: PayloadError.self, "\(bad)") { try Timestamp(checked: bad) }
        }
    }

    @Test("UUID v7 carries the time, version 7 and the RFC variant, and ids sort by time")
    func uuidV7() {
        let early = UUIDv7.make(milliseconds: 1_790_000_000_000)
        let late = UUIDv7.make(milliseconds: 1_790_000_000_001)
        #expect(early.text < late.text)
        let characters = Array(early.text)
        #expect(characters[14] == "7")
        #expect("89ab".contains(characters[19]))
        #expect(early.text.hasPrefix("01a0c450-6c00-7"))
    }
}
