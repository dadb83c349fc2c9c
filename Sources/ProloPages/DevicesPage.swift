public import ProloDomain
import ProloHTML
public import ProloStore

/// The clinic's devices: each enrolled device with its role, when it last synced with this server, how far its
/// chain has arrived, what of it waits in quarantine, and any proven fork; revoked and frozen ones marked.
public enum DevicesPage {
    /// One device's row.
    public struct Row: Sendable {
        public let device: DeviceRecord
        /// The last successful sync request a token of this device made here (from the access log).
        public let lastSync: Timestamp?
        /// The highest `originSeq` of its chain this store holds.
        public let chainHead: Int64
        /// Its events waiting in quarantine, with the reasons.
        public let quarantined: [QuarantinedEvent]
        /// Proven forks of its chain.
        public let forks: [ForkEvidence]
    }

    /// The rows, by device name, and the events quarantined from origins no enrolled device has.
    public struct Model: Sendable {
        public let rows: [Row]
        public let unknownQuarantine: [QuarantinedEvent]
    }

    /// Reads the registry, the version vector, the quarantine, the forks and the sync lines of the access log.
    public static func read(from store: EventStore) throws(StoreError) -> Model {
        model(
            registry: try store.registry(), vector: try store.versionVector(), quarantine: try store.quarantine(),
            forks: try store.forks(), accessLog: try store.accessLog())
    }

    /// The rows from what was read (of a SQLite store, or of a clinic hub's database).
    public static func model(
        registry: DeviceRegistry, vector: VersionVector, quarantine waiting: [QuarantinedEvent], forks evidence: [ForkEvidence],
        accessLog: [AccessRecord]
    ) -> Model {
        let quarantine = Dictionary(grouping: waiting, by: \.origin)
        let forks = Dictionary(grouping: evidence, by: \.origin)
        var lastSync: [String: Timestamp] = [:]
        for record in accessLog where record.outcome == "ok" && (record.purpose ?? "").hasPrefix("sync-") {
            if let device = record.device { lastSync[device] = record.at }
        }
        let rows = registry.devices.values.sorted { ($0.name, $0.origin.text) < ($1.name, $1.origin.text) }.map {
            device in
            Row(
                device: device, lastSync: lastSync[device.name], chainHead: vector[device.origin.text],
                quarantined: quarantine[device.origin] ?? [], forks: forks[device.origin.text] ?? [])
        }
        let known = Set(registry.devices.keys)
        return Model(rows: rows, unknownQuarantine: quarantine.filter { !known.contains($0.key) }.flatMap(\.value))
    }

    /// The page.
    public static func html(_ model: Model, clock: ClinicClock, clinic: String?, viewer: PageViewer) -> String {
        PageLayout.document(title: "Devices", clinic: clinic, viewer: viewer, current: .devices, clock: clock) { html in
            let quarantined = model.rows.reduce(0) { $0 + $1.quarantined.count } + model.unknownQuarantine.count
            let forked = model.rows.filter { !$0.forks.isEmpty }.count
            html.element(
                "p",
                text: "\(model.rows.count) enrolled device\(model.rows.count == 1 ? "" : "s"); \(quarantined) event"
                    + "\(quarantined == 1 ? "" : "s") in quarantine; \(forked) device\(forked == 1 ? "" : "s") with a proven fork."
            )
            PageLayout.table(
                &html, label: "Devices",
                headers: ["Device", "Role", "Status", "Last sync here", "Events held", "Quarantine", "Forks"]
            ) { body in
                for row in model.rows {
                    body.element("tr", [("class", "device")]) { cells in
                        cells.element("td") { cell in
                            cell.text(row.device.name)
                            cell.raw("<br>")
                            cell.element("code", text: row.device.origin.text)
                        }
                        cells.element(
                            "td", text: row.device.role.rawValue + (row.device.patient.map { " of \($0.text)" } ?? ""))
                        cells.element("td") { cell in
                            if row.device.revokedBy != nil {
                                cell.element("span", [("class", "badge danger")], text: "revoked")
                            } else if let reason = row.device.frozenReason {
                                cell.element("span", [("class", "badge danger")], text: "frozen")
                                cell.text(" \(reason)")
                            } else {
                                cell.element("span", [("class", "badge ok")], text: "active")
                            }
                        }
                        cells.element("td") { cell in
                            if let at = row.lastSync {
                                cell.time(at.millisecondsSinceEpoch, clock)
                            } else {
                                cell.text("never")
                            }
                        }
                        cells.element("td", text: "\(row.chainHead)")
                        cells.element("td") { cell in
                            if row.quarantined.isEmpty { cell.text("none") }
                            for event in row.quarantined.prefix(5) {
                                cell.element("span", [("class", "badge warn")], text: "#\(event.originSeq)")
                                cell.text(" \(event.reason) ")
                            }
                            if row.quarantined.count > 5 { cell.text("and \(row.quarantined.count - 5) more") }
                        }
                        cells.element("td") { cell in
                            if row.forks.isEmpty { cell.text("none") }
                            for fork in row.forks {
                                cell.element("span", [("class", "badge danger")], text: "fork at #\(fork.originSeq)")
                                cell.text(" detected ")
                                cell.time(fork.detectedAt.millisecondsSinceEpoch, clock)
                                cell.text(" ")
                            }
                        }
                    }
                }
            }
            if !model.unknownQuarantine.isEmpty {
                html.element("h2", text: "Quarantined from devices not enrolled here")
                PageLayout.table(
                    &html, label: "Quarantine from unknown devices", headers: ["Origin", "Position", "Reason"]
                ) { body in
                    for event in model.unknownQuarantine {
                        body.element("tr") { row in
                            row.element("td") { $0.element("code", text: event.origin.text) }
                            row.element("td", text: "#\(event.originSeq)")
                            row.element("td", text: event.reason)
                        }
                    }
                }
            }
        }
    }
}
