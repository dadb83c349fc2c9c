import Crypto
import Foundation
import ProloDomain
import ProloStore
import ProloSync
import ProloTestSupport
import Testing

/// A patient's slice goes only to a store that can hold it (DeviceAccess.checkReceiving).
@Suite("BundleImport: a patient's slice and the store it goes to")
struct SliceImportTests {
    /// A clinic whose root chain interleaves two patients, so p-1's slice of it has gaps.
    static func clinic(in directory: TemporaryDirectory) throws -> ClinicFixture {
        let clinic = try ClinicFixture(in: directory)
        for (index, patient) in (["p-2", "p-1", "p-2", "p-1", "p-2", "p-1"] as [PatientID]).enumerated() {
            try clinic.root.store.record(
                [try Fixtures.painDraft(patient: patient, score: index, at: 1_790_000_000_000 + Int64(index) * 60_000)],
                signedBy: clinic.root.key)
        }
        return clinic
    }

    /// Exports p-1's slice from the root for `receiver`.
    static func sliceBundle(for receiver: ClinicFixture.Device, in clinic: ClinicFixture) throws -> String {
        let path = clinic.bundlePath()
        let options = BundleExport.Options(patient: "p-1", recipient: try receiver.key.agreementKey().publicKey)
        try BundleExport.export(from: clinic.root.store, signedBy: clinic.root.key, to: path, options: options)
        return path
    }

    @Test(
        "a store made without a patient refuses a clinic's patient slice with out-of-scope, naming how to make a home store, and appends nothing"
    )
    func fullStoreRefusesASlice() throws {
        try TemporaryDirectory.with { directory in
            let clinic = try Self.clinic(in: directory)
            // Enrolled as p-1's home device, but its store was made without --patient.
            let forgot = try clinic.addDevice("tablet", role: .clinic, enroll: false)
            try clinic.enroll(forgot, role: .home, patient: "p-1")
            let bundle = try Self.sliceBundle(for: forgot, in: clinic)
            let before = try forgot.store.versionVector()

            let error = #expect(throws: SyncError.self) {
                try BundleImport.import(from: bundle, into: forgot.store, key: forgot.key)
            }
            #expect(error?.code == .outOfScope)
            #expect(error?.message.contains("prolo init --device-name NAME --trust ROOT --patient p-1") == true)
            #expect(try forgot.store.versionVector() == before)
            #expect(try forgot.store.count() == 0)
            #expect(try forgot.store.quarantine().isEmpty)
        }
    }

    @Test("p-1's home store takes the same slice whole, with nothing waiting; another patient's home store refuses it")
    func homeStoreTakesItsSlice() throws {
        try TemporaryDirectory.with { directory in
            let clinic = try Self.clinic(in: directory)
            let home = try clinic.addDevice("home-1", role: .home, patient: "p-1")
            let other = try clinic.addDevice("home-2", role: .home, patient: "p-2")

            let report = try BundleImport.import(
                from: try Self.sliceBundle(for: home, in: clinic), into: home.store, key: home.key)
            #expect(report.quarantined == 0)
            #expect(try home.store.events().filter { $0.event.patient == "p-1" }.count == 3)
            #expect(try home.store.quarantine().isEmpty)

            let refused = #expect(throws: SyncError.self) {
                try BundleImport.import(
                    from: try Self.sliceBundle(for: other, in: clinic), into: other.store, key: other.key)
            }
            #expect(refused?.code == .outOfScope)
            #expect(try other.store.count() == 0)
        }
    }

    @Test("a clinic store takes a home device's own bundle (a whole chain, in its patient's scope)")
    func fullStoreTakesAHomeDevicesBundle() throws {
        try TemporaryDirectory.with { directory in
            let clinic = try Self.clinic(in: directory)
            let home = try clinic.addDevice("home-1", role: .home, patient: "p-1")
            let recorded = try home.store.record([try Fixtures.painDraft(patient: "p-1", score: 3)], signedBy: home.key)
            let path = clinic.bundlePath()
            try BundleExport.export(
                from: home.store, signedBy: home.key, to: path,
                options: BundleExport.Options(patient: "p-1", recipient: try clinic.root.key.agreementKey().publicKey))
            let report = try BundleImport.import(from: path, into: clinic.root.store, key: clinic.root.key)
            #expect(report.new == 1)
            #expect(try eventIDs(clinic.root.store).contains(recorded[0].event.id))
        }
    }
}
