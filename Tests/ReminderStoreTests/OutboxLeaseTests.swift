import ReminderStore
import Testing

/// The status relay's lease, by its own clock: when it asks again, when it may publish,
/// and that a relay that follows the rule never publishes after the database could have
/// given the lease to another relay, with reads and publishes as slow as their timeouts.
@Suite struct OutboxLeaseTests {
    typealias Instant = ContinuousClock.Instant
    private static let start = ContinuousClock.now
    /// The relay's timeouts: a read (the store timeout) and a publish (the producer's).
    private static let readBound = Duration.seconds(10)
    private static let publishBound = Duration.seconds(15)

    private static func at(_ milliseconds: Int) -> Instant { start.advanced(by: .milliseconds(milliseconds)) }

    private static func lease() -> OutboxLease<Instant> {
        OutboxLease(renewEvery: .seconds(5), guardTime: readBound + publishBound)
    }

    @Test func aRelayThatWasNeverGrantedTheLeaseAsksAndDoesNotPublish() {
        let lease = Self.lease()
        #expect(lease.duration == .seconds(30))
        #expect(!lease.isHeld)
        for offset in stride(from: 0, through: 40_000, by: 500) {
            #expect(lease.mustAsk(at: Self.at(offset)))
            #expect(!lease.mayPublish(at: Self.at(offset), taking: .zero))
        }
    }

    /// Granted at 1 s: no ask until 6 s (then 25 s are left), publishes of 15 s start up to
    /// 15 s later (they end before 31 s); a refusal or a release ends both at once.
    @Test func aGrantedLeaseIsRenewedOnceOnlyAReadAndAPublishAreLeftOfIt() {
        var lease = Self.lease()
        lease.answered(granted: true, askedAt: Self.at(1_000))
        #expect(lease.isHeld)
        for offset in stride(from: 0, through: 40_000, by: 100) {
            let now = Self.at(offset)
            #expect(lease.mustAsk(at: now) == (offset >= 6_000), "\(offset) ms")
            #expect(lease.mayPublish(at: now, taking: Self.publishBound) == (offset < 16_000), "\(offset) ms")
            #expect(lease.mayPublish(at: now, taking: .zero) == (offset < 31_000), "\(offset) ms")
        }
        var refused = lease
        refused.answered(granted: false, askedAt: Self.at(2_000))
        var released = lease
        released.released()
        for var other in [refused, released] {
            #expect(!other.isHeld && other.mustAsk(at: Self.at(2_000)))
            #expect(!other.mayPublish(at: Self.at(2_000), taking: .zero))
            // Granted again later: counted from the new ask.
            other.answered(granted: true, askedAt: Self.at(20_000))
            #expect(!other.mustAsk(at: Self.at(24_999)) && other.mustAsk(at: Self.at(25_000)))
        }
    }

    /// Every read that starts without an ask, however long it takes up to its timeout, is
    /// followed by a publish the lease allows: a relay that is not stalled is never held
    /// back by its own lease.
    @Test func aReadAndAPublishWithinTheirTimeoutsAlwaysFitTheLease() {
        var lease = Self.lease()
        lease.answered(granted: true, askedAt: Self.at(0))
        for readStart in stride(from: 0, through: 40_000, by: 50) where !lease.mustAsk(at: Self.at(readStart)) {
            for readTime in stride(from: 0, through: 10_000, by: 50) {
                #expect(
                    lease.mayPublish(at: Self.at(readStart + readTime), taking: Self.publishBound),
                    "read from \(readStart) ms for \(readTime) ms")
            }
        }
    }

    /// Two relays on one database, simulated event by event in time order, with stalls (a
    /// paused process) before asks and between a read and its publish: the database
    /// grants the lease to its holder, or to whoever asks once it has expired (counting from
    /// when it answered, later than the relay sent the ask). Whatever the delays, no publish
    /// can still be under way when the other relay publishes.
    @Test func twoRelaysNeverPublishAtOverlappingTimesWhateverTheirDelays() {
        enum Step { case ready, asking(sent: Int), answered(granted: Bool), publishing }
        struct Relay {
            var lease = OutboxLeaseTests.lease()
            var step = Step.ready
            var time = 0
            var publishes: [(start: Int, end: Int)] = []
        }
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
        func draw(_ upper: Int) -> Int {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((seed >> 33) % UInt64(upper + 1))
        }
        func stall() -> Int { [0, 0, 0, 0, draw(2_000), draw(45_000)][draw(5)] }
        var relays = [Relay(), Relay()]
        relays[1].time = 700
        var holder: Int?
        var expiresAt = Int.min
        for _ in 0..<40_000 {
            let index = relays[0].time <= relays[1].time ? 0 : 1
            var relay = relays[index]
            switch relay.step {
            case .ready:
                if relay.lease.mustAsk(at: Self.at(relay.time)) {
                    relay.step = .asking(sent: relay.time)
                    relay.time += draw(3_000)  // the ask reaches the database
                } else {
                    relay.step = .publishing
                    relay.time += draw(10_000) + stall()  // the read, then perhaps a pause
                }
            case .asking(let sent):
                // The database answers now.
                let granted = holder == index || relay.time >= expiresAt
                if granted {
                    holder = index
                    expiresAt = relay.time + Int(relay.lease.duration.components.seconds) * 1_000
                }
                relay.lease.answered(granted: granted, askedAt: Self.at(sent))
                relay.step = .answered(granted: granted)
                relay.time += draw(3_000)  // the answer travels back
            case .answered(let granted):
                relay.step = .ready
                relay.time += granted ? 0 : 200 + stall()  // refused: idle, then ask again
            case .publishing:
                if relay.lease.mayPublish(at: Self.at(relay.time), taking: Self.publishBound) {
                    let end = relay.time + draw(15_000)
                    #expect(holder == index && end < expiresAt, "a publish would outlast the lease")
                    relay.publishes.append((relay.time, end))
                    relay.time = end
                }
                relay.step = .ready
                relay.time += stall()
            }
            relays[index] = relay
        }
        #expect(relays.allSatisfy { $0.publishes.count > 50 }, "\(relays.map(\.publishes.count))")
        for first in relays[0].publishes {
            for second in relays[1].publishes {
                #expect(first.end <= second.start || second.end <= first.start, "\(first) overlaps \(second)")
            }
        }
    }
}
