import Testing
@testable import PostgateDKIM

/// The verification statuses and the 72-hour rule, from DNS outcomes and an explicit clock.
struct DomainVerificationTests {
    let policy = DKIMDomainVerification(window: 72 * 3600, initialInterval: 60, maxInterval: 3600)
    let key = DKIMPrivateKey.generateEd25519()

    private func evaluate(_ lookup: DKIMKeyLookupResult, at now: Double, checks: Int = 0) -> DKIMDomainVerification.Outcome {
        policy.evaluate(lookup, expectedPublicKey: key.publicKeyBase64, algorithm: .ed25519SHA256, firstSeen: 1000, now: now, checksSoFar: checks)
    }

    @Test func pendingUntilTheRecordAppears() {
        let pending = evaluate(.none, at: 1000)
        #expect(pending.status == .pending && pending.nextCheck == 1060)
        let success = evaluate(.records(["unrelated", key.keyRecord]), at: 2000)
        #expect(success.status == .success && success.nextCheck == nil)
    }

    @Test func wrongOrMalformedRecordIsFailedButRechecked() {
        let other = DKIMPrivateKey.generateEd25519()
        let wrong = evaluate(.records([other.keyRecord]), at: 1000)
        #expect(wrong.status == .failed && wrong.reason == "the record's p= is not this key" && wrong.nextCheck != nil)
        let malformed = evaluate(.records(["v=DKIM1; k=ed25519; p=@@"]), at: 1000)
        #expect(malformed.status == .failed && malformed.reason!.hasPrefix("malformed DKIM key record"))
    }

    @Test func dnsErrorsAreTemporaryFailures() {
        let outcome = evaluate(.temporaryFailure("DNS lookup timed out"), at: 1000)
        #expect(outcome.status == .temporaryFailure && outcome.reason == "DNS lookup timed out" && outcome.nextCheck == 1060)
    }

    @Test func backoffDoublesUpToTheMaximum() {
        #expect(evaluate(.none, at: 1000, checks: 1).nextCheck == 1120)
        #expect(evaluate(.none, at: 1000, checks: 3).nextCheck == 1480)
        #expect(evaluate(.none, at: 1000, checks: 40).nextCheck == 4600)
        // Never past the end of the window.
        let end: Double = 1000 + 72 * 3600
        let last = evaluate(.none, at: end - 10, checks: 40).nextCheck
        #expect(last == end, "\(String(describing: last)) vs \(end)")
    }

    @Test func after72HoursNothingValidIsFailedForGood() {
        let end = 1000.0 + 72 * 3600
        let none = evaluate(.none, at: end)
        #expect(none.status == .failed && none.nextCheck == nil && none.reason == "no record within 72 hours")
        #expect(evaluate(.temporaryFailure("SERVFAIL"), at: end).status == .failed)
        #expect(evaluate(.records([key.keyRecord]), at: end + 1).status == .success)
    }

    @Test func statusNamesAreThoseAdministratorsSee() {
        #expect(DKIMVerificationStatus.allCases.map(\.rawValue) == ["Pending", "Success", "Failed", "Temporary Failure"])
    }
}
