import Foundation
import TestSupport
import Testing

/// The alert rules (`deploy/prometheus/alerts.yml`) are valid and behave as their unit
/// tests (`alerts.test.yml`) say, and they, their unit tests and the Grafana dashboard
/// only name metrics the running service exports, as a real `/metrics` scrape renders
/// them (`_total`, `_bucket`, the `notification_` prefix).
@Suite(.timeLimit(.minutes(6)))
struct AlertRulesTests {
    static let rules = "deploy/prometheus/alerts.yml"
    static let ruleTests = "deploy/prometheus/alerts.test.yml"
    static let dashboard = "deploy/grafana/notification-service.json"

    /// `NS_PROMTOOL`, the copy scripts/setup.sh keeps in `.cache`, or a system one.
    static var promtool: String? {
        [
            ProcessInfo.processInfo.environment["NS_PROMTOOL"],
            LocalStack.root.appendingPathComponent(".cache/promtool/promtool").path,
            "/usr/bin/promtool",
        ].compactMap { $0 }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Runs promtool in the project's root; its exit status and everything it printed.
    private func promtool(_ arguments: [String]) async throws -> (Int32, String) {
        let tool = try #require(Self.promtool, "scripts/setup.sh puts promtool in .cache/promtool")
        return try await CommandRun.run(tool, arguments, in: LocalStack.root)
    }

    @Test func theRulesAreValid() async throws {
        let (status, output) = try await promtool(["check", "rules", Self.rules])
        #expect(status == 0, "\(output)")
        #expect(output.contains("SUCCESS"), "\(output)")
    }

    @Test func theScrapeConfigurationIsValidAndLoadsTheRules() async throws {
        let (status, output) = try await promtool(["check", "config", "deploy/prometheus/prometheus.yml"])
        #expect(status == 0, "\(output)")
        #expect(output.contains("SUCCESS: 13 rules found"), "\(output)")
    }

    @Test func eachAlertFiresAndStaysQuietAsItsUnitTestsSay() async throws {
        let (status, output) = try await promtool(["test", "rules", Self.ruleTests])
        #expect(status == 0, "\(output)")
        #expect(output.contains("SUCCESS"), "\(output)")
    }

    @Test func aMisspelledMetricIsFoundInAnExpression() {
        #expect(
            PromQLNames.metrics(
                in: #"sum by (reason) (rate(notification_dead_letter_published_total{reason!="x"}[$__rate_interval]))"#)
                == ["notification_dead_letter_published_total"])
        #expect(
            PromQLNames.metrics(
                in: "histogram_quantile(0.99, sum by (le) (rate(a_bucket[5m]))) > 1e3 and on (instance) b unless c")
                == ["a_bucket", "b", "c"])
    }

    @Test func everyMetricTheRulesAndTheDashboardNameIsExported() async throws {
        let root = LocalStack.root
        let rulesText = try String(contentsOf: root.appendingPathComponent(Self.rules), encoding: .utf8)
        let testsText = try String(contentsOf: root.appendingPathComponent(Self.ruleTests), encoding: .utf8)
        let dashboardData = try Data(contentsOf: root.appendingPathComponent(Self.dashboard))
        var used: [String: Set<String>] = [:]
        for expr in RuleFile.expressions(rulesText) {
            for name in PromQLNames.metrics(in: expr) { used[name, default: []].insert(Self.rules) }
        }
        for name in RuleFile.seriesNames(testsText) { used[name, default: []].insert(Self.ruleTests) }
        for expr in Self.expressions(in: try JSONSerialization.jsonObject(with: dashboardData)) {
            for name in PromQLNames.metrics(in: expr) { used[name, default: []].insert(Self.dashboard) }
        }
        #expect(used.count > 10, "the files were read: \(used.keys.sorted())")
        // Prometheus's own series, and the recording rules' results.
        let known = Set(["up"]).union(RuleFile.recordedNames(rulesText))

        // A service that has consumed, dead-lettered, published and called a provider:
        // every labelled series exists. SMS is configured (and never called) for a
        // provider with one circuit (`circuit_state`) beside the webhooks' per-origin ones.
        var exported: Set<String> = []
        let sms = [
            "SMS_ACCOUNT_SID": "AC1", "SMS_AUTH_TOKEN": "token", "SMS_FROM": "+15550001111",
            "SMS_BASE_URL": "https://127.0.0.1:9",
        ]
        try await DeadLetteredReminder.with("alert-names", settings: sms) { scenario in
            let text = try await scenario.instance.call("GET", "/metrics", template: "/metrics").body
            exported = Self.sampleNames(text)
        }
        #expect(exported.contains("notification_consumer_lag"), "scraped: \(exported.sorted())")
        for (name, files) in used.sorted(by: { $0.key < $1.key }) where !known.contains(name) {
            if !exported.contains(name) {
                Issue.record("\(name) (in \(files.sorted())) is not a metric the service exports")
            }
        }
    }

    /// The names of the samples of a Prometheus text exposition.
    static func sampleNames(_ text: String) -> Set<String> {
        Set(
            text.split(separator: "\n").filter { !$0.hasPrefix("#") }.map {
                String($0.prefix { $0 != "{" && $0 != " " })
            })
    }

    /// Every `expr` string of a Grafana dashboard, at any depth.
    static func expressions(in json: Any) -> [String] {
        if let object = json as? [String: Any] {
            return object.flatMap { key, value in
                key == "expr" ? [value as? String].compactMap { $0 } : expressions(in: value)
            }
        }
        if let array = json as? [Any] { return array.flatMap { expressions(in: $0) } }
        return []
    }
}
