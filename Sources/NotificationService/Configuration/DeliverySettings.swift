import Delivery
import Foundation

/// Which providers this instance sends through, and their limits. A channel whose
/// provider is not configured fails permanently for reminders that use it (and falls
/// back to their next channel).
public struct DeliverySettings: Sendable {
    public var http: HTTPTransport.Configuration
    public var smtp: SMTPConfiguration?
    public var webhook: WebhookProvider.Configuration?
    public var fcm: PushProvider.FCMConfiguration?
    public var apns: PushProvider.APNsConfiguration?
    public var sms: SMSProvider.Configuration?
    /// Amazon SES v2 email (`SES_FROM`; DeliverySettings+AWS.swift).
    public var ses: SESProvider.Configuration?
    /// Amazon SNS text messages (`SNS_ENABLED`; DeliverySettings+AWS.swift).
    public var sns: SNSProvider.Configuration?
    /// Email through SendGrid's v3 API (`SENDGRID_API_KEY`).
    public var sendGrid: SendGridProvider.Configuration?
    /// Per provider name (`smtp`, `webhook`, `fcm`, `apns`, `twilio`, `ses`, `sns`, `sendgrid`): sends
    /// per second.
    public var rateLimits: [String: TokenBucket.Configuration]
    /// Dispatching instances that share the rate limits (`RATE_LIMIT_INSTANCES`): the
    /// limits are counted in the database for all of them together; when it does not
    /// answer, each sends at most its share, the limit divided by this.
    public var rateLimitInstances: Int
    /// The email providers a send tries, in order (`EMAIL_PROVIDERS`; by default every
    /// configured one in `emailProviderNames`' order).
    public var emailProviders: [String]
    /// The SMS providers a send tries, in order (`SMS_PROVIDERS`).
    public var smsProviders: [String]

    public static let providerNames = ["smtp", "webhook", "fcm", "apns", "twilio", "ses", "sns", "sendgrid"]
    public static let emailProviderNames = ["smtp", "ses", "sendgrid"]
    public static let smsProviderNames = ["twilio", "sns"]
    /// The variable that turns each provider on, for errors that name it.
    static let enablingVariables = [
        "smtp": "SMTP_HOST", "twilio": "SMS_ACCOUNT_SID", "ses": "SES_FROM", "sns": "SNS_ENABLED",
        "sendgrid": "SENDGRID_API_KEY",
    ]

    init(_ reader: EnvironmentReader) throws {
        http = HTTPTransport.Configuration(
            timeout: try reader.milliseconds("HTTP_PROVIDER_TIMEOUT_MS", 10_000, 100...600_000),
            caFile: reader.optional("HTTP_PROVIDER_CA_FILE"),
            connectionsPerHost: try reader.count(
                "HTTP_PROVIDER_CONNECTIONS_PER_HOST", HTTPTransport.Configuration().connectionsPerHost, 1...1_000))
        if let caFile = http.caFile, !FileManager.default.isReadableFile(atPath: caFile) {
            throw ServiceSettings.Invalid(variable: "HTTP_PROVIDER_CA_FILE", message: "cannot read \(caFile)")
        }
        smtp = try Self.smtp(reader)
        if let secret = reader.optional("WEBHOOK_SIGNING_SECRET") {
            guard secret.utf8.count >= 16 else {
                throw ServiceSettings.Invalid(variable: "WEBHOOK_SIGNING_SECRET", message: "must be at least 16 bytes")
            }
            webhook = WebhookProvider.Configuration(
                signingSecret: Array(secret.utf8),
                destinations: DestinationPolicy(
                    allowLoopback: try reader.flag("WEBHOOK_ALLOW_LOOPBACK", false),
                    allowPrivate: try reader.flag("WEBHOOK_ALLOW_PRIVATE", false)))
        }
        // Base URLs are checked even when their provider is off.
        let fcmBase = try Self.url(reader, "FCM_BASE_URL", "https://fcm.googleapis.com")
        let apnsBase = try Self.url(reader, "APNS_BASE_URL", "https://api.push.apple.com")
        let smsBase = try Self.url(reader, "SMS_BASE_URL", "https://api.twilio.com")
        let sendGridBase = try Self.url(reader, "SENDGRID_BASE_URL", "https://api.sendgrid.com")
        fcm = try Self.fcm(reader, baseURL: fcmBase)
        apns = try Self.apns(reader, baseURL: apnsBase)
        if let account = reader.optional("SMS_ACCOUNT_SID") {
            sms = SMSProvider.Configuration(
                baseURL: smsBase, accountSID: account,
                authToken: try reader.required("SMS_AUTH_TOKEN", for: "SMS_ACCOUNT_SID"),
                from: try reader.required("SMS_FROM", for: "SMS_ACCOUNT_SID"))
        }
        sendGrid = try Self.sendGrid(reader, baseURL: sendGridBase)
        (ses, sns) = try Self.aws(reader)
        emailProviders = try Self.order(
            reader, "EMAIL_PROVIDERS", of: "email", known: Self.emailProviderNames,
            configured: Set(
                [smtp.map { _ in "smtp" }, ses.map { _ in "ses" }, sendGrid.map { _ in "sendgrid" }].compactMap { $0 }))
        smsProviders = try Self.order(
            reader, "SMS_PROVIDERS", of: "SMS", known: Self.smsProviderNames,
            configured: Set([sms.map { _ in "twilio" }, sns.map { _ in "sns" }].compactMap { $0 }))
        // Rate limits are per provider, and SMS may go through more than one.
        for old in ["SMS_RATE_LIMIT", "SMS_RATE_BURST"] where reader.optional(old) != nil {
            throw ServiceSettings.Invalid(
                variable: old,
                message: "is now \(old.replacingOccurrences(of: "SMS_", with: "TWILIO_")) (limits are per provider)")
        }
        var limits: [String: TokenBucket.Configuration] = [:]
        for name in Self.providerNames {
            let variable = "\(name.uppercased())_RATE_LIMIT"
            guard reader.optional(variable) != nil else { continue }
            let rate = try reader.number(variable, 0, 0.001...1_000_000)
            let burst = try reader.number("\(name.uppercased())_RATE_BURST", max(1, rate), 1...1_000_000)
            limits[name] = TokenBucket.Configuration(rate: rate, burst: burst)
        }
        rateLimits = limits
        rateLimitInstances = try reader.count("RATE_LIMIT_INSTANCES", 1, 1...1_000)
    }

    /// The providers of a channel in the order `variable` lists them, each known and
    /// configured, none twice; unset, every configured one in `known`'s order.
    private static func order(
        _ reader: EnvironmentReader, _ variable: String, of channel: String, known: [String], configured: Set<String>
    ) throws -> [String] {
        guard let text = reader.optional(variable) else { return known.filter(configured.contains) }
        var names: [String] = []
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            let name = item.trimmingCharacters(in: .whitespaces).lowercased()
            guard known.contains(name) else {
                throw ServiceSettings.Invalid(
                    variable: variable,
                    message: "\"\(name)\" is not an \(channel) provider (\(known.joined(separator: ", ")))")
            }
            guard !names.contains(name) else {
                throw ServiceSettings.Invalid(variable: variable, message: "lists \(name) twice")
            }
            guard configured.contains(name) else {
                throw ServiceSettings.Invalid(
                    variable: variable,
                    message: "lists \(name), which is not configured (\(enablingVariables[name] ?? name) is not set)")
            }
            names.append(name)
        }
        return names
    }

    /// FCM with a fixed access token (`FCM_PROJECT_ID` + `FCM_ACCESS_TOKEN`, for
    /// development), or with a service account's key (`FCM_SERVICE_ACCOUNT_FILE`, whose
    /// project is used unless `FCM_PROJECT_ID` names another).
    private static func fcm(_ reader: EnvironmentReader, baseURL: String) throws -> PushProvider.FCMConfiguration? {
        guard let file = reader.optional("FCM_SERVICE_ACCOUNT_FILE") else {
            guard let project = reader.optional("FCM_PROJECT_ID") else { return nil }
            return PushProvider.FCMConfiguration(
                baseURL: baseURL, projectID: project,
                accessToken: try reader.required("FCM_ACCESS_TOKEN", for: "FCM_PROJECT_ID"))
        }
        guard reader.optional("FCM_ACCESS_TOKEN") == nil else {
            throw ServiceSettings.Invalid(
                variable: "FCM_ACCESS_TOKEN", message: "must not be set together with FCM_SERVICE_ACCOUNT_FILE")
        }
        let account: GoogleServiceAccount
        do throws(CredentialFileError) {
            account = try GoogleServiceAccount(contentsOf: file)
        } catch {
            throw ServiceSettings.Invalid(variable: "FCM_SERVICE_ACCOUNT_FILE", message: error.reason)
        }
        return PushProvider.FCMConfiguration(
            baseURL: baseURL, projectID: reader.optional("FCM_PROJECT_ID") ?? account.projectID,
            authentication: .serviceAccount(account))
    }

    /// APNs with a fixed provider token (`APNS_AUTH_TOKEN`, for development), or with a
    /// .p8 signing key (`APNS_KEY_FILE`, `APNS_KEY_ID`, `APNS_TEAM_ID`).
    private static func apns(_ reader: EnvironmentReader, baseURL: String) throws -> PushProvider.APNsConfiguration? {
        guard let file = reader.optional("APNS_KEY_FILE") else {
            guard let topic = reader.optional("APNS_TOPIC") else { return nil }
            return PushProvider.APNsConfiguration(
                baseURL: baseURL, topic: topic,
                authenticationToken: try reader.required("APNS_AUTH_TOKEN", for: "APNS_TOPIC"))
        }
        guard reader.optional("APNS_AUTH_TOKEN") == nil else {
            throw ServiceSettings.Invalid(
                variable: "APNS_AUTH_TOKEN", message: "must not be set together with APNS_KEY_FILE")
        }
        let topic = try reader.required("APNS_TOPIC", for: "APNS_KEY_FILE")
        let key: APNsSigningKey
        do {
            key = try APNsSigningKey(
                contentsOf: file, keyID: try reader.required("APNS_KEY_ID", for: "APNS_KEY_FILE"),
                teamID: try reader.required("APNS_TEAM_ID", for: "APNS_KEY_FILE"))
        } catch let error as CredentialFileError {
            let variable =
                switch error.setting {
                case .file: "APNS_KEY_FILE"
                case .keyID: "APNS_KEY_ID"
                case .teamID: "APNS_TEAM_ID"
                }
            throw ServiceSettings.Invalid(variable: variable, message: error.reason)
        }
        return PushProvider.APNsConfiguration(baseURL: baseURL, topic: topic, authentication: .signingKey(key))
    }

    private static func smtp(_ reader: EnvironmentReader) throws -> SMTPConfiguration? {
        // Checked even when email is off: a wrong value is a mistake either way.
        let modeText = reader.value("SMTP_STARTTLS", "required")
        guard let mode = SMTPStartTLSMode(rawValue: modeText) else {
            throw ServiceSettings.Invalid(
                variable: "SMTP_STARTTLS", message: "must be off, opportunistic or required, not \"\(modeText)\"")
        }
        let maxConnections = try reader.count(
            "SMTP_MAX_CONNECTIONS", SMTPConfiguration.defaultMaxConnections, 1...1_000)
        guard let host = reader.optional("SMTP_HOST") else { return nil }
        var credentials: SMTPCredentials?
        if let username = reader.optional("SMTP_USERNAME") {
            credentials = SMTPCredentials(
                username: username, password: try reader.required("SMTP_PASSWORD", for: "SMTP_USERNAME"))
        }
        let configuration = SMTPConfiguration(
            host: host, port: try reader.count("SMTP_PORT", 587, 1...65_535),
            from: SMTPMailbox(
                address: try reader.required("SMTP_FROM", for: "SMTP_HOST"),
                displayName: reader.optional("SMTP_FROM_NAME")),
            heloName: reader.value("SMTP_HELO_NAME", "localhost"), startTLS: mode,
            trustRootsPath: reader.optional("SMTP_CA_FILE"), credentials: credentials,
            connectTimeout: try reader.milliseconds("SMTP_CONNECT_TIMEOUT_MS", 10_000, 100...600_000),
            sendTimeout: try reader.milliseconds("SMTP_TIMEOUT_MS", 30_000, 100...600_000),
            maxConnections: maxConnections)
        do {
            return try configuration.validated()
        } catch {
            throw Self.invalid(error)
        }
    }

    /// SendGrid's settings, when `SENDGRID_API_KEY` is set. Errors never show the key.
    private static func sendGrid(_ reader: EnvironmentReader, baseURL: String) throws
        -> SendGridProvider.Configuration?
    {
        guard let key = reader.optional("SENDGRID_API_KEY") else { return nil }
        typealias Configuration = SendGridProvider.Configuration
        if let problem = Configuration.problem(withAPIKey: key) {
            throw ServiceSettings.Invalid(variable: "SENDGRID_API_KEY", message: problem)
        }
        let from = try reader.required("SENDGRID_FROM", for: "SENDGRID_API_KEY")
        if let problem = Configuration.problem(withSender: from) {
            throw ServiceSettings.Invalid(variable: "SENDGRID_FROM", message: problem)
        }
        let name = reader.optional("SENDGRID_FROM_NAME")
        if let name, let problem = Configuration.problem(withSenderName: name) {
            throw ServiceSettings.Invalid(variable: "SENDGRID_FROM_NAME", message: problem)
        }
        return Configuration(baseURL: baseURL, apiKey: key, fromAddress: from, fromName: name)
    }

    /// The error of an SMTP setting, named by its variable.
    static func invalid(_ error: SMTPConfigurationError) -> ServiceSettings.Invalid {
        let variables = [
            "host": "SMTP_HOST", "port": "SMTP_PORT", "from.address": "SMTP_FROM", "from.displayName": "SMTP_FROM_NAME",
            "heloName": "SMTP_HELO_NAME", "connectTimeout/sendTimeout": "SMTP_TIMEOUT_MS",
            "credentials.username": "SMTP_USERNAME", "credentials.password": "SMTP_PASSWORD",
            "trustRootsPath": "SMTP_CA_FILE", "maxConnections": "SMTP_MAX_CONNECTIONS",
        ]
        return ServiceSettings.Invalid(variable: variables[error.setting] ?? "SMTP_HOST", message: error.reason)
    }

    private static func url(_ reader: EnvironmentReader, _ name: String, _ fallback: String) throws -> String {
        let text = reader.value(name, fallback)
        guard EnvironmentReader.httpURL(text) != nil else {
            throw ServiceSettings.Invalid(variable: name, message: "must be an http(s) URL, not \"\(text)\"")
        }
        return text
    }
}
