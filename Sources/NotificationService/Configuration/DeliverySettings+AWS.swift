import Delivery

/// The Amazon providers' settings: SES email (enabled by `SES_FROM`) and SNS text
/// messages (enabled by `SNS_ENABLED=true`), sharing the AWS credentials and region.
/// The secret key and the session token are never part of an error message.
extension DeliverySettings {
    static func aws(
        _ reader: EnvironmentReader
    ) throws -> (ses: SESProvider.Configuration?, sns: SNSProvider.Configuration?) {
        // Endpoints are checked even when their provider is off, like the other base URLs.
        let sesEndpoint = try endpoint(reader, "SES_ENDPOINT")
        let snsEndpoint = try endpoint(reader, "SNS_ENDPOINT")
        let sesFrom = reader.optional("SES_FROM")
        let snsEnabled = try reader.flag("SNS_ENABLED", false)
        if !snsEnabled {
            // A sender id or number without the switch is a half-done configuration:
            // say so rather than ignore it.
            for variable in ["SNS_SENDER_ID", "SNS_ORIGINATION_NUMBER"] where reader.optional(variable) != nil {
                throw ServiceSettings.Invalid(variable: "SNS_ENABLED", message: "must be true when \(variable) is set")
            }
        }
        guard sesFrom != nil || snsEnabled else { return (nil, nil) }
        let group = sesFrom != nil ? "SES_FROM" : "SNS_ENABLED"
        let credentials = AWSCredentials(
            accessKeyID: try reader.required("AWS_ACCESS_KEY_ID", for: group),
            secretAccessKey: try reader.required("AWS_SECRET_ACCESS_KEY", for: group),
            sessionToken: reader.optional("AWS_SESSION_TOKEN"))
        guard let region = reader.optional("AWS_REGION") ?? reader.optional("AWS_DEFAULT_REGION") else {
            throw ServiceSettings.Invalid(variable: "AWS_REGION", message: "must be set when \(group) is set")
        }
        guard !region.isEmpty,
            region.unicodeScalars.allSatisfy({ ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" })
        else {
            throw ServiceSettings.Invalid(
                variable: "AWS_REGION", message: "must be a region name such as eu-west-1, not \"\(region)\"")
        }

        var ses: SESProvider.Configuration?
        if let from = sesFrom {
            if let problem = addressProblem(from) {
                throw ServiceSettings.Invalid(variable: "SES_FROM", message: problem)
            }
            let name = reader.optional("SES_FROM_NAME")
            if let name, name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
                throw ServiceSettings.Invalid(variable: "SES_FROM_NAME", message: "contains a control character")
            }
            ses = SESProvider.Configuration(
                credentials: credentials, region: region, endpoint: sesEndpoint,
                from: SMTPMailbox(address: from, displayName: name),
                configurationSet: reader.optional("SES_CONFIGURATION_SET"))
        }
        var sns: SNSProvider.Configuration?
        if snsEnabled {
            let origination = reader.optional("SNS_ORIGINATION_NUMBER")
            if let origination, !isE164(origination) {
                throw ServiceSettings.Invalid(
                    variable: "SNS_ORIGINATION_NUMBER", message: "must be a number in E.164 form (+ and 8 to 15 digits)"
                )
            }
            let senderID = reader.optional("SNS_SENDER_ID")
            // AWS's rule for an alphanumeric sender id: 1 to 11 letters and digits, at least
            // one letter.
            if let senderID,
                !(1...11).contains(senderID.count)
                    || !senderID.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) })
                    || !senderID.contains(where: \.isLetter)
            {
                throw ServiceSettings.Invalid(
                    variable: "SNS_SENDER_ID", message: "must be 1 to 11 letters and digits, at least one a letter")
            }
            sns = SNSProvider.Configuration(
                credentials: credentials, region: region, endpoint: snsEndpoint, senderID: senderID,
                originationNumber: origination)
        }
        return (ses, sns)
    }

    /// nil when unset; the URL when it is an http(s) URL.
    private static func endpoint(_ reader: EnvironmentReader, _ name: String) throws -> String? {
        guard let text = reader.optional(name) else { return nil }
        guard let url = EnvironmentReader.httpURL(text) else {
            throw ServiceSettings.Invalid(variable: name, message: "must be an http(s) URL, not \"\(text)\"")
        }
        // Requests are signed for the paths the APIs define: a prefix, query or user
        // would make every signature wrong (and every send a transient failure).
        guard url.path.isEmpty || url.path == "/", url.query == nil, url.user == nil, url.fragment == nil else {
            throw ServiceSettings.Invalid(
                variable: name, message: "must be scheme://host[:port] without a path, query or user")
        }
        return text
    }

    /// Why `address` is no usable sender address (`local@domain`), nil when it is.
    static func addressProblem(_ address: String) -> String? {
        guard let at = address.lastIndex(of: "@"), at != address.startIndex,
            address.index(after: at) != address.endIndex
        else { return "must be an email address (local@domain), not \"\(address)\"" }
        guard
            !address.unicodeScalars.contains(where: {
                $0.properties.isWhitespace || $0.properties.generalCategory == .control || $0 == "<" || $0 == ">"
                    || $0 == "\""
            })
        else { return "must be a bare address without spaces, quotes or angle brackets" }
        return nil
    }

    private static func isE164(_ number: String) -> Bool {
        let digits = number.dropFirst()
        return number.hasPrefix("+") && (8...15).contains(digits.count)
            && digits.allSatisfy { $0.isASCII && $0.isNumber }
    }
}
