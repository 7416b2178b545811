import Testing

@testable import Delivery

/// Where a webhook URL sends: the pool's origin, the `Host` header, the request target as
/// written, and the name TLS checks.
@Suite struct WebhookTargetTests {
    @Test(
        arguments: [
            (
                "https://Hooks.Example.com/a/b%20c?x=1&y=%2F", "hooks.example.com", "/a/b%20c?x=1&y=%2F",
                "hooks.example.com"
            ),
            ("https://hooks.example.com:8443", "hooks.example.com:8443", "/", "hooks.example.com"),
            ("https://hooks.example.com:443/p", "hooks.example.com", "/p", "hooks.example.com"),
            ("https://[::1]:8443/x", "[::1]:8443", "/x", nil),
            ("http://10.0.0.1/", "10.0.0.1", "/", nil),
            ("http://hooks.example.com:80/q?", "hooks.example.com", "/q?", "hooks.example.com"),
        ] as [(String, String, String, String?)])
    func aTargetIsItsHostHeaderAndRequestTarget(url: String, host: String, target: String, serverName: String?) throws {
        let parsed = try #require(WebhookTarget(url: url))
        #expect(parsed.hostHeader == host)
        #expect(parsed.requestTarget == target)
        #expect(parsed.serverHostname == serverName)
        #expect(parsed.origin == DestinationOrigin(url: url))
    }

    @Test(arguments: ["not a url", "ftp://hooks.example.com/", "https://", "https:///path"])
    func aURLWithoutAnHTTPOriginHasNoTarget(url: String) {
        #expect(WebhookTarget(url: url) == nil)
    }
}
