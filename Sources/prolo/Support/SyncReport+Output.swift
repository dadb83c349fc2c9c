import ProloDomain
import ProloSync

/// How every sync command (`sync`, `sync import`, `replicate`) prints what a sync did.
extension SyncReport {
    /// The machine form (`--json`).
    var jsonValue: JSONValue {
        .object([
            "new": .int(Int64(new)), "alreadyPresent": .int(Int64(alreadyPresent)),
            "quarantined": .int(Int64(quarantined)), "sent": .int(Int64(sent)), "forks": .int(Int64(forks)),
            "admittedFromQuarantine": .int(Int64(admittedFromQuarantine)), "held": .int(Int64(held)),
        ])
    }

    /// One line for a person: `N new, N already present, N quarantined[, N sent]` (`sent` for a sync with a
    /// server; `in sync` when it moved nothing), then the counts that need attention, which say where to look.
    /// Scripts (`Tools/harness/`) read the leading counts.
    func summary(withServer: Bool) -> String {
        if withServer, self == SyncReport() { return "in sync" }
        var parts = ["\(new) new", "\(alreadyPresent) already present", "\(quarantined) quarantined"]
        if withServer { parts.append("\(sent) sent") }
        if admittedFromQuarantine > 0 { parts.append("\(admittedFromQuarantine) admitted from quarantine") }
        if held > 0 { parts.append("\(held) HELD (validly signed, payload this build cannot read; see prolo alerts)") }
        if forks > 0 { parts.append("\(forks) FORKS (origin frozen; see prolo alerts)") }
        return parts.joined(separator: ", ")
    }
}
