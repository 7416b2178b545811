import Foundation
import Testing

@testable import Delivery

/// The kept verdicts answer as the policy does, for each address, however often asked.
@Suite struct DestinationVerdictsTests {
    @Test(arguments: [
        "https://127.0.0.1/hook", "https://[::1]/hook", "https://10.0.0.5/", "https://169.254.169.254/latest",
        "http://hooks.example.com/", "https://hooks.example.com/r?x=1", "https://8.8.8.8/", "https://localhost./h",
        "https://", "not a url at all",
    ])
    func aVerdictIsThePolicysAndStaysItOnceKept(address: String) {
        for policy in [DestinationPolicy(), DestinationPolicy(allowLoopback: true, allowPrivate: true)] {
            let verdicts = DestinationVerdicts(policy)
            let expected: DestinationVerdicts.Verdict =
                if let url = URL(string: address) {
                    policy.refusal(for: url).map(DestinationVerdicts.Verdict.refused) ?? .allowed
                } else {
                    .unreadable
                }
            #expect(verdicts.verdict(for: address) == expected)
            #expect(verdicts.count == 1)
            #expect(verdicts.verdict(for: address) == expected)
            #expect(verdicts.count == 1)
        }
    }

    @Test func theLoopbackPolicyDecidesForTheSameAddress() {
        #expect(DestinationVerdicts(DestinationPolicy()).verdict(for: "https://127.0.0.1/") != .allowed)
        #expect(
            DestinationVerdicts(DestinationPolicy(allowLoopback: true)).verdict(for: "https://127.0.0.1/") == .allowed)
        #expect(DestinationVerdicts(DestinationPolicy()).verdict(for: "https://exa mple.com/") == .unreadable)
    }

    @Test func itKeepsAtMostItsCapacityAndStillAnswersBeyondIt() {
        let verdicts = DestinationVerdicts(DestinationPolicy(), capacity: 3)
        for index in 0..<10 {
            #expect(
                verdicts.verdict(for: "https://10.0.0.\(index)/") == .refused("the URL points at a private address"))
            #expect(verdicts.count <= 3)
        }
        #expect(verdicts.verdict(for: "https://hooks.example.com/") == .allowed)
        #expect(verdicts.count >= 1 && verdicts.count <= 3)
    }
}
