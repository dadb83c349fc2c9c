package import ProloDomain

/// Work that commits or rolls back together with an append: the projections' read models (DESIGN §5).
///
/// The store calls it inside the append's write transaction, after the new events are inserted and before
/// the commit; throwing rolls the whole append back, so the log and the read models never disagree.
/// The observer's tables are its own: the store applies its ``schema`` (`Schemas/sqlite/<track>/`) when it is created
/// or opened with it, after the store's own migrations.
package protocol AppendObserver: Sendable {
    /// The numbered migrations of the tables this observer keeps.
    var schema: SchemaTrack { get }

    /// Called with the events this transaction appended (never empty), in the order they were inserted.
    func didAppend(_ events: [StoredEvent], in connection: SQLiteConnection) throws(StoreError)

    /// Called when events these read models folded are held out afterwards (a revocation or a fork arrived): folds
    /// these patients again from the log's foldable events, in the same transaction.
    func refold(_ patients: Set<PatientID>, in connection: SQLiteConnection) throws(StoreError)
}
