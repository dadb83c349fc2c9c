import ArgumentParser
import ProloDomain
import ProloStore

/// `prolo vector`: the version vector, origin → highest originSeq held.
struct VectorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vector", abstract: "Print the version vector: for each origin, the highest originSeq held.")

    @OptionGroup var options: StoreOptions

    @Flag(name: .long, help: "Print a JSON object {origin: originSeq}.")
    var json = false

    @Flag(
        name: .long,
        help: ArgumentHelp(
            "With --json, print {\"vector\": {origin: originSeq}, \"heads\": {...}}: the hash held at each position "
                + "and known forks, so a bundle cut for this store carries a conflicting branch (Schemas/sync.md)."))
    var heads = false

    func run() throws {
        try guarded {
            let store = try EventStore.open(at: options.path, busyTimeoutMilliseconds: options.busyTimeoutMilliseconds)
            let vector = try store.versionVector()
            if json && heads {
                let heads = try store.chainHeads(at: vector)
                say(Output.json(.object(["vector": vector.jsonValue, "heads": heads.jsonValue])))
            } else if json {
                say(Output.json(.object(vector.heads.mapValues { .int($0) })))
            } else {
                for (origin, seq) in vector.heads.sorted(by: { $0.key < $1.key }) {
                    say("\(origin)  \(seq)")
                }
            }
        }
    }
}
