import Delivery
import Testing

/// Webhook URLs that reach the same server share an origin, whatever their spelling.
@Suite struct DestinationOriginTests {
    @Test(arguments: [
        ("https://hooks.example.com/a", "https://hooks.example.com:443"),
        ("HTTPS://Hooks.Example.COM/b?x=1", "https://hooks.example.com:443"),
        ("https://hooks.example.com:443/c", "https://hooks.example.com:443"),
        ("https://hooks.example.com./d", "https://hooks.example.com:443"),
        ("https://user:secret@hooks.example.com/e", "https://hooks.example.com:443"),
        ("http://hooks.example.com/f", "http://hooks.example.com:80"),
        ("https://hooks.example.com:8443/g", "https://hooks.example.com:8443"),
        ("https://127.0.0.1:9000/h", "https://127.0.0.1:9000"),
        ("https://[::1]:9000/i", "https://[::1]:9000"),
        ("https://[FE80::1]/j", "https://[fe80::1]:443"),
    ])
    func spellingsOfOneServerShareAnOrigin(url: String, origin: String) throws {
        #expect(try #require(DestinationOrigin(url: url)).description == origin)
    }

    @Test func theOriginLeavesOutPathQueryAndUserInformation() throws {
        let origin = try #require(DestinationOrigin(url: "https://user:token@h.example/secret/path?key=abc"))
        #expect(!origin.description.contains("secret"))
        #expect(!origin.description.contains("token"))
        #expect(!origin.description.contains("abc"))
    }

    @Test func otherPortsOrSchemesAreOtherOrigins() {
        let plain = DestinationOrigin(url: "https://h.example/")
        #expect(plain == DestinationOrigin(url: "https://h.example:443/x"))
        #expect(plain != DestinationOrigin(url: "https://h.example:444/"))
        #expect(plain != DestinationOrigin(url: "http://h.example:443/"))
        #expect(plain != DestinationOrigin(url: "https://g.example/"))
    }

    @Test(arguments: ["not a url", "ftp://h.example/x", "https:///nohost", "mailto:a@b.example", ""])
    func aURLWithoutAnHTTPOriginHasNone(url: String) {
        #expect(DestinationOrigin(url: url) == nil)
    }
}
