import ProloDomain
import Synchronization

/// The fact sets the projection saved last, so that the next append for the same patient need not parse them
/// again (parsing the stored facts was a sixth of a bundle import's time: batches of an import arrive origin by
/// origin, so each one touches hundreds of patients it touched before).
///
/// A cached set is used only when the bytes the store holds now are exactly the bytes it was saved as: a
/// rolled-back transaction, another process's write or a rebuild leaves different bytes, and the set is parsed
/// again. Bounded: when the entries exceed ``maximumBytes`` of stored facts, the cache starts over.
final class FactsCache: Sendable {
    private struct Entry {
        let bytes: [UInt8]
        let facts: PatientFacts
    }

    private struct Contents {
        var entries: [PatientID: Entry] = [:]
        var bytes = 0
    }

    /// The stored-facts bytes kept at most (the parsed sets take a few times more).
    let maximumBytes: Int
    private let contents = Mutex(Contents())

    init(maximumBytes: Int = 16 << 20) {
        self.maximumBytes = maximumBytes
    }

    /// The facts saved as exactly `bytes` for `patient`, if cached.
    func facts(of patient: PatientID, storedAs bytes: [UInt8]) -> PatientFacts? {
        contents.withLock { contents in
            guard let entry = contents.entries[patient], entry.bytes == bytes else { return nil }
            return entry.facts
        }
    }

    /// Remembers that `facts` were saved as `bytes`.
    func remember(_ facts: PatientFacts, storedAs bytes: [UInt8]) {
        contents.withLock { contents in
            if let old = contents.entries[facts.patient] { contents.bytes -= old.bytes.count }
            if contents.bytes + bytes.count > maximumBytes {
                contents.entries.removeAll(keepingCapacity: true)
                contents.bytes = 0
            }
            guard bytes.count <= maximumBytes else { return }
            contents.entries[facts.patient] = Entry(bytes: bytes, facts: facts)
            contents.bytes += bytes.count
        }
    }
}
