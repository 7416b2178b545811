/// What was worked out from an address's text, kept by the text: reading a URL (Foundation's
/// parser) costs more than the rest of a webhook's own work per send, and the herd sends to
/// the same few addresses again and again. At most `capacity` addresses are kept; when that
/// many are, all are forgotten and worked out again as they come (receivers change slowly,
/// and a table that is cleared needs no order of use kept per send).
struct AddressMemo<Value: Sendable>: Sendable {
    let capacity: Int
    private var known: [String: Value] = [:]

    init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    /// What is kept for `address`, if anything.
    func value(for address: String) -> Value? {
        known[address]
    }

    /// Keeps `value` for `address`, forgetting everything first when full.
    mutating func keep(_ value: Value, for address: String) {
        if known.count >= capacity && known[address] == nil { known.removeAll(keepingCapacity: true) }
        known[address] = value
    }

    /// What is kept for `address`, or `make`'s answer for it, then kept.
    mutating func value(for address: String, making make: (String) -> Value) -> Value {
        if let value = known[address] { return value }
        let value = make(address)
        keep(value, for: address)
        return value
    }

    /// How many addresses it holds.
    var count: Int { known.count }
}
