import ReminderCore
import Testing

/// A send's outcome becomes one history record, whatever ended it.
@Suite struct ChannelAttemptTests {
    func record(_ sent: SendOutcome) -> ChannelAttempt {
        ChannelAttempt(channelIndex: 1, channel: "sms", provider: "twilio", sent: sent, latency: .milliseconds(40))
    }

    @Test func anAcceptedSendKeepsTheProvidersAnswerAndNoErrorClass() {
        let attempt = record(.delivered(DeliveryReceipt(answer: "HTTP 201", providerMessageID: "SM1")))
        #expect(attempt.outcome == .delivered)
        #expect(attempt.errorClass == nil)
        #expect(attempt.answer == "HTTP 201")
        #expect(attempt.latency == .milliseconds(40))
        #expect(attempt.channelIndex == 1 && attempt.channel == "sms" && attempt.provider == "twilio")
    }

    @Test func aFailureKeepsItsKindErrorClassAndAnswer() {
        let transient = record(.failed(.transient("http_503", "HTTP 503", retryAfter: .seconds(2))))
        #expect(transient.outcome == .transient)
        #expect(transient.errorClass == "http_503")
        #expect(transient.answer == "HTTP 503")
        let permanent = record(.failed(.permanent("http_400", "HTTP 400")))
        #expect(permanent.outcome == .permanent)
        #expect(permanent.errorClass == "http_400")
    }

    @Test func anOpenCircuitIsRecordedAsNotSentWithNoTimeInTheProvider() {
        let attempt = record(.circuitOpen(retryAfter: .seconds(30)))
        #expect(attempt.outcome == .circuitOpen)
        #expect(attempt.errorClass == "circuit_open")
        #expect(attempt.latency == .zero)
    }

    @Test func aChannelWithoutAProviderIsAPermanentFailureNamedNotConfigured() {
        let attempt = record(.notConfigured)
        #expect(attempt.outcome == .permanent)
        #expect(attempt.errorClass == "not_configured")
    }
}
