/// A decoder accepted an input and the value it produced breaks an invariant (it does not re-encode to the same
/// bytes, or does not decode again, equal, from its canonical form), or the harness could not run.
public struct FuzzCheckFailure: Error, CustomStringConvertible {
    /// What did not hold, naming the API: `EventWireCodec.decode accepted a record that does not re-encode to itself`.
    public let description: String

    init(_ description: String) { self.description = description }
}
