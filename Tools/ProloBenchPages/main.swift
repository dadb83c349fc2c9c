// prolo-bench-pages: how long the clinic's pages take to render from the read models (issue 17: the today page
// and a patient page with 500 events under 50 ms at p99 on the 2-core machine). Run through Tools/bench (release).
//
// Workloads: a projected store holding P patients of the clinical mix (R events each) and one patient with E events;
// then, N times each, the today page (ProjectedStore.due(within: 14) + TodayPage.html), the alerts page
// (openAlerts() and the raising events' types + AlertsPage.html) and the E-event patient's page (PatientPage.read: state + timeline, then
// PatientPage.html), timed from the read to the finished string, as the server does before writing the response.
// Prints a Markdown table with p50, p99 and the largest time; `--rows FILE` appends the common table's rows.
import Foundation
import ProloBenchSupport
import ProloDomain
import ProloPages
import ProloProjections
import ProloStore

struct Options {
    var patients = 1_000
    var rounds = 5
    var patientEvents = 500
    var renders = 200
    var directory = NSTemporaryDirectory() + "prolo-bench-pages-\(getpid())"
    var rows: String?

    init(arguments: [String]) {
        let parsed = BenchArguments(
            arguments, options: ["--patients", "--rounds", "--patient-events", "--renders", "--dir", "--rows"],
            usage: "usage: prolo-bench-pages [--patients N] [--rounds N] [--patient-events N] [--renders N] "
                + "[--dir DIR] [--rows FILE]")
        patients = max(1, parsed.int("--patients") ?? patients)
        rounds = max(1, parsed.int("--rounds") ?? rounds)
        patientEvents = max(1, parsed.int("--patient-events") ?? patientEvents)
        renders = max(1, parsed.int("--renders") ?? renders)
        directory = parsed.directory(for: "prolo-bench-pages")
        rows = parsed.text("--rows")
    }
}

/// Records `rounds` events for each of `clinic`'s patients, one round per batch.
func load(_ clinic: inout Clinic, rounds: Int, into store: EventStore, key: DeviceKey) throws {
    let indices = 0..<clinic.stories.count
    for _ in 0..<rounds {
        let stored = try store.record(try clinic.drafts(for: indices), signedBy: key)
        clinic.recorded(stored, for: indices)
    }
}

/// Milliseconds of each of `count` runs of `body`, sorted.
func sample(_ count: Int, _ body: () throws -> Int) rethrows -> (times: [Double], bytes: Int) {
    var times: [Double] = []
    var bytes = 0
    for _ in 0..<count {
        let (size, seconds) = try timed(body)
        times.append(seconds * 1000)
        bytes = size
    }
    return (times.sorted(), bytes)
}

func percentile(_ sorted: [Double], _ fraction: Double) -> Double {
    sorted[min(sorted.count - 1, Int((Double(sorted.count) * fraction).rounded(.up)) - 1)]
}

let options = Options(arguments: CommandLine.arguments)
BenchProgress.tool = "prolo-bench-pages"
try FileManager.default.createDirectory(atPath: options.directory, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(atPath: options.directory) }
let key = DeviceKey()
let projected = try ProjectedStore.create(at: options.directory + "/pages.sqlite", deviceName: "bench", key: key)
var clinic = try Clinic(patients: options.patients, seed: 42)
try load(&clinic, rounds: options.rounds, into: projected.store, key: key)
var long = try Clinic(patients: 1, seed: 7, firstNumber: options.patients)
try load(&long, rounds: options.patientEvents, into: projected.store, key: key)
let longPatient = long.stories[0].patient
BenchProgress.note("store holds \(try projected.store.count()) events of \(options.patients + 1) patients")

let clock = try ClinicClock(identifier: "Europe/Oslo") ?? ClinicClock()
let viewer = PageViewer(
    description: "clinic token", csrfToken: String(repeating: "a", count: 64), mayReadClinic: true, mayRecord: true)
let today = try sample(options.renders) {
    let now = Timestamp.now()
    return TodayPage.html(
        due: try projected.due(within: TodayPage.days, now: now), now: now, clock: clock, clinic: nil, viewer: viewer
    )
    .utf8.count
}
let alerts = try sample(options.renders) {
    let read = try AlertsPage.read(from: projected)
    return AlertsPage.html(alerts: read.alerts, types: read.types, clock: clock, clinic: nil, viewer: viewer).utf8.count
}
// The patient page in its two halves: what the store answers, and the string made from it.
let patientRead = try sample(options.renders) { try PatientPage.read(longPatient, from: projected)?.entries.count ?? 0 }
guard let longModel = try PatientPage.read(longPatient, from: projected) else {
    FileHandle.standardError.write(Data("prolo-bench-pages: the store holds no event of \(longPatient)\n".utf8))
    exit(1)
}
let patientRender = sample(options.renders) {
    PatientPage.html(longModel, now: .now(), clock: clock, clinic: nil, viewer: viewer).utf8.count
}
var timelineLength = 0
let patient = try sample(options.renders) {
    guard let model = try PatientPage.read(longPatient, from: projected) else { return 0 }
    timelineLength = model.entries.count
    return PatientPage.html(model, now: .now(), clock: clock, clinic: nil, viewer: viewer).utf8.count
}

print("## prolo-bench-pages\n")
print(
    "\(machine()); \(options.patients) patients × \(options.rounds) events, one patient with \(timelineLength) events; \(options.renders) renders each\n"
)
print("| page | p50 ms | p99 ms | max ms | HTML bytes |")
print("|---|---|---|---|---|")
var rows: [BenchRow] = []
for (name, result) in [
    ("today (due within 14 days)", today), ("alerts", alerts), ("patient, \(timelineLength) events", patient),
    ("  of which reading it", patientRead), ("  of which rendering it", patientRender),
] {
    let p50 = percentile(result.times, 0.5)
    let p99 = percentile(result.times, 0.99)
    print(
        "| \(name) | \(format(p50, 2)) | \(format(p99, 2)) | \(format(result.times.last ?? 0, 2)) | \(result.bytes) |")
    rows.append(
        BenchRow(
            "page: \(name)", size: "\(options.patients) patients", peakRSSMegabytes: peakRSSMegabytes(),
            note: "p50 \(format(p50, 2)) ms, p99 \(format(p99, 2)) ms, read + render"))
}
BenchRow.append(rows, to: options.rows)
