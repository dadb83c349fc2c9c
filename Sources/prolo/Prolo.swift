import ArgumentParser

/// The `prolo` command: a thin face over ProloStore. It parses, calls the library, and prints.
@main
struct Prolo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prolo",
        abstract: "An event-sourced patient-record store for prolotherapy clinics.",
        discussion: """
            Every clinical fact is a signed, append-only event in a zlib-compressed SQLite log.
            Every command takes --store PATH (or the PROLO_STORE environment variable; default ./prolo.sqlite).

            Exit codes: 0 ok, 64 usage, 65 bad input data, 66 missing input or store, 70 internal error,
            73 cannot create, 74 I/O error, 75 busy/locked (retry), 77 permission or authentication refused.
            """,
        version: "0.1.0",
        subcommands: [
            InitCommand.self, RecordCommand.self, RecordBatchCommand.self, LogCommand.self, ShowCommand.self, VectorCommand.self,
            DemoCommand.self, PatientCommand.self, PatientsCommand.self, DueCommand.self, AlertsCommand.self,
            RebuildCommand.self, DeviceCommand.self, SyncCommand.self, QuarantineCommand.self, ServeCommand.self,
            ReplicateCommand.self, TokenCommand.self, AuditCommand.self, ExportCommand.self, MoveUpCommand.self,
        ]
    )
}
