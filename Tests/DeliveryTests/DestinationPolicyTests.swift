import Delivery
import Foundation
import Testing

@Suite struct DestinationPolicyTests {
    @Test(arguments: [
        "https://127.0.0.1/hook", "https://127.8.9.1:8443/x", "https://localhost/hook", "https://api.localhost/",
        "https://[::1]/hook", "https://[::ffff:127.0.0.1]/hook", "https://localhost./hook", "https://[::127.0.0.1]/",
        "https://[64:ff9b::7f00:1]/", "https://[2002:7f00:1::]/",
    ])
    func loopbackIsRefusedUnlessAllowed(url: String) {
        let target = URL(string: url)!
        #expect(DestinationPolicy().refusal(for: target)?.contains("loopback") == true)
        #expect(DestinationPolicy(allowLoopback: true).refusal(for: target) == nil)
    }

    @Test(arguments: [
        "https://10.0.0.5/", "https://172.16.0.1/", "https://172.31.255.255/", "https://192.168.1.1/",
        "https://100.64.0.1/", "https://[fd00::1]/",
    ])
    func privateNetworksAreRefusedUnlessAllowed(url: String) {
        let target = URL(string: url)!
        #expect(DestinationPolicy().refusal(for: target)?.contains("private") == true)
        #expect(DestinationPolicy(allowPrivate: true).refusal(for: target) == nil)
    }

    @Test(arguments: [
        "https://169.254.169.254/latest/meta-data", "https://[fe80::1]/", "https://0.0.0.0/", "https://224.0.0.1/",
        "http://hooks.example.com/",
    ])
    func linkLocalUnspecifiedMulticastAndPlainHTTPAreAlwaysRefused(url: String) {
        let policy = DestinationPolicy(allowLoopback: true, allowPrivate: true)
        #expect(policy.refusal(for: URL(string: url)!) != nil)
    }

    @Test(arguments: [
        "https://hooks.example.com/r?x=1", "https://172.32.0.1/", "https://8.8.8.8/", "https://[2001:db8::1]/",
    ])
    func publicDestinationsPass(url: String) {
        #expect(DestinationPolicy().refusal(for: URL(string: url)!) == nil)
    }

    @Test(arguments: [
        "https://2130706433/", "https://127.1/", "https://0x7f.0.0.1/", "https://0177.0.0.1/", "https://0x7f000001/",
    ])
    func numericHostsInAnyOtherSpellingAreRefused(url: String) {
        #expect(DestinationPolicy(allowPrivate: true).refusal(for: URL(string: url)!) != nil)
    }
}
