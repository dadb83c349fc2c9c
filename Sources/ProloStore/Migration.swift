/// A numbered schema change, published as a `Schemas/sqlite/…/NNNN-name.sql` file and embedded at build time.
package struct Migration: Sendable {
    /// The version of its track after this migration.
    package let version: Int
    /// The file name without extension.
    package let name: String
    /// The SQL.
    package let sql: String

    package init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }

    /// The version of the store's own track (`PRAGMA user_version`) this build creates and reads.
    static var latestVersion: Int { all.last?.version ?? 0 }

    /// The store's migration that makes `schema_tracks`: the first of this build's where each module's tables are its
    /// own track. A store it upgrades (`PRAGMA user_version` 1…10) made every table of every module through the
    /// store's numbers; what it had then is kept in `store_meta` as ``versionBeforeTracksKey`` for the modules' tracks
    /// to read (``SchemaTrack/versionBeforeTracks``).
    static let tracksVersion = 11
    /// The `store_meta` key that holds a store's `user_version` from before ``tracksVersion``.
    static let versionBeforeTracksKey = "user_version_before_tracks"

    /// Applies every migration of the store's track above `current`, each in its own transaction.
    static func migrate(_ connection: SQLiteConnection, from current: Int) throws(StoreError) {
        for migration in all where migration.version > current {
            try migration.apply(connection, track: "the store's") { () throws(StoreError) in
                try connection.execute("PRAGMA user_version = \(migration.version)")
                if migration.version == tracksVersion, current > 0 {
                    let statement = try connection.statement("INSERT OR REPLACE INTO store_meta (key, value) VALUES (?, ?)")
                    statement.bind(1, versionBeforeTracksKey)
                    statement.bind(2, String(current))
                    try statement.run()
                }
            }
        }
    }

    /// Runs this migration and `record` (which notes the new version) in one transaction; nothing when `applied`,
    /// asked inside it (under the write lock), says another process applied it meanwhile.
    fileprivate func apply(
        _ connection: SQLiteConnection, track: String, applied: () throws(StoreError) -> Bool = { false },
        record: () throws(StoreError) -> Void
    ) throws(StoreError) {
        try connection.execute("BEGIN IMMEDIATE")
        do {
            if try applied() {
                try connection.execute("COMMIT")
                return
            }
            try connection.execute(sql)
            try record()
            try connection.execute("COMMIT")
        } catch {
            try? connection.execute("ROLLBACK")
            throw StoreError(
                error.code, "\(track) migration \(name) failed: \(error.message)", cause: error.cause, sql: error.sql)
        }
    }
}

/// A module's own tables in a store: its numbered migrations (published under `Schemas/sqlite/<track>/`), applied
/// after the store's own and recorded in the store's `schema_tracks` table, so each module makes and changes the
/// tables it reads and writes, and its versions move without the store's (issue 14). The treatment projection's
/// read models are one (`TreatmentReadModel`); a store opened with an ``AppendObserver`` applies the observer's.
package struct SchemaTrack: Sendable {
    /// The track's name in `schema_tracks`, and its folder under `Schemas/sqlite/`.
    package let name: String
    /// Its migrations, versions 1, 2, 3 … in order.
    package let migrations: [Migration]
    /// Which of its versions a store made before tracks existed already holds, from that store's `user_version`
    /// then (1…10): those builds made every module's tables through the store's numbered migrations.
    package let versionBeforeTracks: @Sendable (Int) -> Int

    package init(name: String, migrations: [Migration], versionBeforeTracks: @escaping @Sendable (Int) -> Int) {
        self.name = name
        self.migrations = migrations
        self.versionBeforeTracks = versionBeforeTracks
    }

    /// The version this build makes.
    package var latestVersion: Int { migrations.last?.version ?? 0 }

    /// Applies this track's pending migrations to the store on `connection`, each in its own transaction; refuses,
    /// changing nothing, a store whose track is newer than this build's.
    package func apply(_ connection: SQLiteConnection, store path: String) throws(StoreError) {
        let stored = try storedVersion(connection)
        var version = stored ?? 0
        if stored == nil, let before = try Self.versionBeforeTracks(connection) { version = versionBeforeTracks(before) }
        guard version <= latestVersion else {
            throw StoreError(
                .newerSchema,
                "\(path) has the \(name) tables at version \(version), newer than this build's \(latestVersion); "
                    + "upgrade prolo to open it (the store was not changed)")
        }
        // A store from before tracks already holds these: recorded once, and read from `schema_tracks` from then on.
        if stored == nil, version > 0 { try record(version, connection) }
        for migration in migrations where migration.version > version {
            // Two processes opening one store at once both see it behind; the second to take the write lock finds the
            // first's work done (this track's first migration remakes its tables: run twice, it would empty them).
            try migration.apply(
                connection, track: "the \(name)",
                applied: { () throws(StoreError) in try storedVersion(connection) ?? 0 >= migration.version }
            ) { () throws(StoreError) in
                try record(migration.version, connection)
            }
        }
    }

    private func record(_ version: Int, _ connection: SQLiteConnection) throws(StoreError) {
        let statement = try connection.statement(
            "INSERT INTO schema_tracks (track, version) VALUES (?, ?) ON CONFLICT (track) DO UPDATE SET version = excluded.version")
        statement.bind(1, name)
        statement.bind(2, Int64(version))
        try statement.run()
    }

    private func storedVersion(_ connection: SQLiteConnection) throws(StoreError) -> Int? {
        let statement = try connection.statement("SELECT version FROM schema_tracks WHERE track = ?")
        statement.bind(1, name)
        defer { statement.reset() }
        return try statement.step() ? Int(statement.int64(0)) : nil
    }

    private static func versionBeforeTracks(_ connection: SQLiteConnection) throws(StoreError) -> Int? {
        let statement = try connection.statement("SELECT value FROM store_meta WHERE key = ?")
        statement.bind(1, Migration.versionBeforeTracksKey)
        defer { statement.reset() }
        return try statement.step() ? Int(statement.text(0)) : nil
    }
}
