import Testing

@testable import Delivery

/// What is kept for an address is worked out once, stays what it was, and the memo never
/// holds more than its capacity.
@Suite struct AddressMemoTests {
    @Test func eachAddressIsWorkedOutOnceAndAnsweredFromTheMemoAfter() {
        var memo = AddressMemo<Int?>(capacity: 8)
        var made: [String] = []
        func make(_ address: String) -> Int? {
            made.append(address)
            return address.hasPrefix("https://") ? address.count : nil
        }
        for _ in 0..<3 {
            #expect(memo.value(for: "https://a.example/", making: make) == 18)
            #expect(memo.value(for: "not a url", making: make) == .some(nil))
        }
        #expect(made == ["https://a.example/", "not a url"])
        #expect(memo.count == 2)
        // A kept nil is an answer, not a miss.
        #expect(memo.value(for: "not a url") == .some(nil))
        #expect(memo.value(for: "https://b.example/") == nil)
    }

    @Test func aFullMemoForgetsEverythingBeforeKeepingANewAddress() {
        var memo = AddressMemo<Int>(capacity: 3)
        for index in 0..<3 { memo.keep(index, for: "a\(index)") }
        #expect(memo.count == 3)
        // Kept again: the same address replaces its value, nothing is forgotten.
        memo.keep(10, for: "a1")
        #expect(memo.count == 3)
        #expect(memo.value(for: "a1") == 10)
        memo.keep(3, for: "a3")
        #expect(memo.count == 1)
        #expect(memo.value(for: "a3") == 3)
        #expect(memo.value(for: "a0") == nil)
    }

    @Test func aCapacityBelowOneKeepsOneAddress() {
        var memo = AddressMemo<Int>(capacity: 0)
        memo.keep(1, for: "a")
        memo.keep(2, for: "b")
        #expect(memo.count == 1)
        #expect(memo.value(for: "b") == 2)
    }
}
