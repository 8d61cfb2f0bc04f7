import Foundation
import Testing
@testable import PostgateOAuth

/// The SASL messages that carry a bearer token, and the error challenge.
@Suite struct OAuthSASLMechanismTests {
    private func decoded(_ base64: String) -> String {
        String(decoding: Data(base64Encoded: base64) ?? Data(), as: UTF8.self)
    }

    /// RFC 7628 section 4.1, the example of a successful IMAP authentication.
    @Test func oauthBearerMatchesTheRFC7628Example() {
        let response = OAuthSASLMechanism.oauthBearer.initialResponse(
            user: "user@example.com", token: "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==", host: "server.example.com", port: 143)
        #expect(response == "bixhPXVzZXJAZXhhbXBsZS5jb20sAWhvc3Q9c2VydmVyLmV4YW1wbGUuY29tAXBvcnQ9MTQzAWF1dGg9QmVhcmVyIHZGOWRmdDRxbVRjMk52YjNSbGNrQmhiSFJoZG1semRHRXVZMjl0Q2c9PQEB")
    }

    @Test func oauthBearerEscapesTheUserAndLeavesOutWhatIsUnknown() {
        let response = OAuthSASLMechanism.oauthBearer.initialResponse(user: "a=b,c@example.com", token: "tok")
        #expect(decoded(response) == "n,a=a=3Db=2Cc@example.com,\u{1}auth=Bearer tok\u{1}\u{1}")
    }

    @Test func xoauth2() {
        let response = OAuthSASLMechanism.xoauth2.initialResponse(user: "alice@example.com", token: "ya29.tok", host: "ignored", port: 1)
        #expect(decoded(response) == "user=alice@example.com\u{1}auth=Bearer ya29.tok\u{1}\u{1}")
    }

    @Test func theAnswerToAnErrorChallengeEndsTheExchange() {
        #expect(decoded(OAuthSASLMechanism.oauthBearer.errorChallengeAnswer) == "\u{1}")
        #expect(OAuthSASLMechanism.xoauth2.errorChallengeAnswer == "")
    }

    @Test func oauthBearerIsPreferredWhenOffered() {
        #expect(OAuthSASLMechanism.preferred(among: ["PLAIN", "XOAUTH2", "OAUTHBEARER"]) == .oauthBearer)
        #expect(OAuthSASLMechanism.preferred(among: ["PLAIN", "XOAUTH2"]) == .xoauth2)
        #expect(OAuthSASLMechanism.preferred(among: ["PLAIN", "LOGIN"]) == nil)
    }

    /// RFC 7628 section 4.3, the failure example.
    @Test func theErrorChallengeOfRFC7628IsDecoded() throws {
        let challenge = "eyJzdGF0dXMiOiJpbnZhbGlkX3Rva2VuIiwic2NvcGUiOiJleGFtcGxlX3Njb3BlIiwib3BlbmlkLWNvbmZpZ3VyYXRpb24iOiJodHRwczovL2V4YW1wbGUuY29tLy53ZWxsLWtub3duL29wZW5pZC1jb25maWd1cmF0aW9uIn0="
        let error = try #require(OAuthSASLErrorChallenge(base64: challenge))
        #expect(error == OAuthSASLErrorChallenge(
            status: "invalid_token", scope: "example_scope", openIDConfiguration: "https://example.com/.well-known/openid-configuration"))
        #expect(error.tokenRefused)
        #expect(error.description == "status invalid_token, scope example_scope")
    }

    @Test func aNumericStatusIsAccepted() throws {
        let challenge = Data(#"{"status":400,"schemes":"Bearer","scope":"https://mail.example.com/"}"#.utf8).base64EncodedString()
        let error = try #require(OAuthSASLErrorChallenge(base64: challenge))
        #expect(error.status == "400")
        #expect(!error.tokenRefused)
    }

    @Test func aChallengeThatIsNotTheJSONErrorIsNotDecoded() {
        #expect(OAuthSASLErrorChallenge(base64: "") == nil)
        #expect(OAuthSASLErrorChallenge(base64: "not base64!") == nil)
        #expect(OAuthSASLErrorChallenge(base64: Data("[1]".utf8).base64EncodedString()) == nil)
        #expect(OAuthSASLErrorChallenge(base64: Data(#"{"scope":"x"}"#.utf8).base64EncodedString()) == nil)
    }
}

/// RFC 6749 appendix B form encoding and the endpoint's tenant.
@Suite struct OAuth2SettingsTests {
    @Test func formEncoding() {
        #expect(FormEncoding.encode([("a b", "x+y&z=1"), ("ü", "*-._~")]) == "a+b=x%2By%26z%3D1&%C3%BC=*-._%7E")
        let decoded = FormEncoding.decode("a+b=x%2By%26z%3D1&%C3%BC=*-._%7E&empty=&flag")
        #expect(decoded?.map(\.0) == ["a b", "ü", "empty", "flag"])
        #expect(decoded?.map(\.1) == ["x+y&z=1", "*-._~", "", ""])
        #expect(FormEncoding.decode("a=%4") == nil)
        #expect(FormEncoding.decode("a=%FF") == nil)
    }

    @Test func theTenantIsOnePathSegment() throws {
        var settings = OAuth2Settings(tokenEndpoint: "https://login.example/{tenant}/token", clientID: "c", refreshToken: "r")
        settings.tenant = "a/b c"
        #expect(try settings.resolvedTokenEndpoint() == "https://login.example/a%2Fb%20c/token")
        settings.tokenEndpoint = "ftp://login.example/token"
        #expect(throws: OAuth2Error.invalidSettings("the token endpoint ftp://login.example/token is not an http or https URL")) {
            try settings.resolvedTokenEndpoint()
        }
    }

    @Test func theDescriptionLeavesSecretsOut() {
        let settings = OAuth2Settings(
            tokenEndpoint: "https://login.example/token", clientID: "client-1", clientSecret: "very-secret", refreshToken: "refresh-secret")
        #expect("\(settings)" == "OAuth 2.0 client client-1 at https://login.example/token")
        #expect("\(OAuth2AccessToken(value: "token-secret", lifetime: .seconds(60), scope: nil))" == "Bearer access token valid for 60 s")
    }
}

/// The token response of RFC 6749 sections 5.1 and 5.2, read without a server.
@Suite struct OAuth2TokenResponseTests {
    private func parse(_ status: Int, _ body: String) -> Result<OAuth2TokenResponse, OAuth2Error> {
        Result { () throws(OAuth2Error) in try OAuth2TokenResponse.parse(status: status, body: Array(body.utf8)) }
    }

    @Test func aTokenWithEveryField() throws {
        let response = try parse(200, #"{"access_token":"at","token_type":"bearer","expires_in":"3599","refresh_token":"rt2","scope":"mail"}"#).get()
        #expect(response == OAuth2TokenResponse(token: OAuth2AccessToken(value: "at", lifetime: .seconds(3599), scope: "mail"), refreshToken: "rt2"))
    }

    @Test func aTokenWithoutLifetimeOrNewRefreshToken() throws {
        let response = try parse(200, #"{"access_token":"at","token_type":"Bearer"}"#).get()
        #expect(response == OAuth2TokenResponse(token: OAuth2AccessToken(value: "at", lifetime: nil, scope: nil), refreshToken: nil))
    }

    @Test func malformedTokens() {
        #expect(parse(200, #"{"token_type":"Bearer"}"#) == .failure(.malformedResponse("no access_token")))
        #expect(parse(200, #"{"access_token":"at"}"#) == .failure(.malformedResponse("no token_type")))
        #expect(parse(200, #"{"access_token":"at","token_type":"mac"}"#) == .failure(.malformedResponse("token_type mac is not Bearer")))
        #expect(parse(200, #"{"access_token":"at","token_type":"Bearer","expires_in":-5}"#)
            == .failure(.malformedResponse("expires_in is not a positive number of seconds")))
        #expect(parse(200, #"{"access_token":"at","token_type":"Bearer","refresh_token":7}"#)
            == .failure(.malformedResponse("refresh_token is not a string")))
    }

    @Test func errorsAndStatuses() {
        #expect(parse(401, #"{"error":"invalid_client"}"#) == .failure(.invalidClient("")))
        #expect(parse(400, #"{"error":"unauthorized_client","error_description":"not for this grant"}"#)
            == .failure(.refused(error: "unauthorized_client", description: "not for this grant")))
        #expect(parse(404, "<html>not found</html>") == .failure(.unexpectedStatus(404)))
        #expect(parse(302, "") == .failure(.unexpectedStatus(302)))
        #expect(parse(429, "") == .failure(.unavailable("HTTP 429")))
        #expect(parse(503, #"{"error":"temporarily_unavailable"}"#) == .failure(.unavailable("HTTP 503")))
        #expect(OAuth2Error.invalidClient("").description == "the client id or secret was refused (invalid_client) — check the client registration")
    }
}
