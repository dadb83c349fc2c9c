import Foundation
import PropertyBased
import ProloDomain
import ProloProjections
import ProloStore
import ProloSync
import ProloTestSupport
import Testing

@Suite("Sync converges")
struct ConvergenceTests {
    private static let patients: [PatientID] = ["p-1", "p-2", "p-3"]

    @Test("five devices, random events and random pairwise bundle syncs: full replicas hold the same log and read models, each home device exactly its patient's slice")
    func randomSyncOrders() async throws {
        await propertyCheck(count: 6, input: Gen.int(in: 1...1_000_000)) { seed in
            try TemporaryDirectory.with { directory in
                var random = SeededGenerator(seed: UInt64(seed))
                let clinic = try ClinicFixture(in: directory)
                try clinic.addDevice("server", role: .replica)
                try clinic.addDevice("laptop", role: .clinic)
                try clinic.addDevice("home-1", role: .home, patient: "p-1")
                try clinic.addDevice("home-2", role: .home, patient: "p-2")
                let devices = clinic.devices
                for _ in 0..<4 {
                    for _ in 0..<8 {
                        let device = devices.randomElement(using: &random)!
                        let patient = device.homePatient ?? Self.patients.randomElement(using: &random)!
                        let draft = try ClinicalDrafts.random(for: patient, byPatient: device.homePatient != nil, using: &random)
                        try device.store.record([draft], signedBy: device.key)
                    }
                    for _ in 0..<6 {
                        let sender = devices.randomElement(using: &random)!
                        let receiver = devices.filter { $0.name != sender.name }.randomElement(using: &random)!
                        try clinic.transfer(from: sender, to: receiver, encrypted: Bool.random(using: &random))
                    }
                }
                // Until quiescent: every ordered pair, in a random order, until a whole pass moves nothing.
                var passes = 0
                while passes < 10 {
                    passes += 1
                    var moved = 0
                    var pairs = devices.flatMap { a in devices.filter { $0.name != a.name }.map { (a, $0) } }
                    pairs.shuffle(using: &random)
                    for (sender, receiver) in pairs {
                        let report = try clinic.transfer(from: sender, to: receiver)
                        moved += report.new + report.admittedFromQuarantine
                    }
                    if moved == 0 { break }
                }
                #expect(passes < 10, "did not converge (seed \(seed))")

                let full = devices.filter { $0.homePatient == nil }
                let reference = try eventIDs(full[0].store)
                for device in full {
                    #expect(try eventIDs(device.store) == reference, "\(device.name) differs from \(full[0].name) (seed \(seed))")
                    #expect(try device.store.versionVector() == full[0].store.versionVector())
                    #expect(try device.store.quarantine().isEmpty, "\(device.name) still quarantines events (seed \(seed))")
                    #expect(try device.projected.patients() == full[0].projected.patients())
                    #expect(try device.projected.openAlerts() == full[0].projected.openAlerts())
                    for patient in Self.patients {
                        #expect(try device.projected.state(of: patient) == full[0].projected.state(of: patient))
                    }
                }
                let everything = try full[0].store.events().map(\.event)
                for home in devices where home.homePatient != nil {
                    let patient = home.homePatient!
                    let held = try home.store.events().map(\.event)
                    #expect(held.allSatisfy { $0.patient == nil || $0.patient == patient }, "\(home.name) holds another patient's events")
                    #expect(
                        Set(held.filter { $0.patient == patient }.map(\.id)) == Set(everything.filter { $0.patient == patient }.map(\.id)),
                        "\(home.name) does not hold exactly its patient's slice (seed \(seed))")
                    #expect(try home.projected.state(of: patient) == full[0].projected.state(of: patient))
                }
            }
        }
    }
}
