import Foundation

/// Verifies the DKIM signatures of one message as it streams past (RFC 6376 section 6):
/// the header section is kept (bounded), the body only runs through one body hasher per
/// signature. Call `update` with the raw message (CRLF line ends), then `finish`.
///
/// At most `maxSignatures` signatures are checked, so a message cannot make the server do
/// unbounded work.
public struct DKIMMessageVerifier: Sendable {
    private var splitter: DKIMMessageSplitter
    private var signatures: [Result<DKIMSignatureField, DKIMError>] = []
    private var hashers: [DKIMBodyHasher?] = []
    private var fields: [DKIMHeaderField] = []
    private let maxSignatures: Int

    public init(maxHeaderBytes: Int = 256 * 1024, maxSignatures: Int = 5) {
        splitter = DKIMMessageSplitter(maxHeaderBytes: maxHeaderBytes)
        self.maxSignatures = maxSignatures
    }

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        let wasInBody = splitter.inBody
        var bodyParts: [UnsafeRawBufferPointer] = []
        splitter.feed(bytes) { bodyParts.append($0) }
        if !wasInBody && splitter.inBody { startBody() }
        for part in bodyParts { hashBody(part) }
    }

    public mutating func update(_ bytes: some Sequence<UInt8>) {
        Array(bytes).withUnsafeBytes { update($0) }
    }

    /// The results, one per signature checked; empty when the message is unsigned
    /// (`dkim=none`). `lookup` is called once per signature, to fetch its key records.
    public mutating func finish(now: Date = Date(), lookup: (_ selector: String, _ domain: String) -> DKIMKeyLookupResult) -> [DKIMVerificationResult] {
        if !splitter.inBody { startBody() }
        if splitter.headerTooLarge {
            return [DKIMVerificationResult(status: .permerror, reason: "header section too large to verify")]
        }
        return signatures.indices.map { index in
            switch signatures[index] {
            case .failure(let error):
                return DKIMVerificationResult(status: .permerror, reason: error.description)
            case .success(let signature):
                let bodyHash = hashers[index]!.finalize()
                return Self.check(signature, bodyHash: bodyHash, fields: fields, now: now, lookup: lookup)
            }
        }
    }

    private mutating func startBody() {
        fields = DKIMHeaderField.split(headerSection: splitter.header)
        for field in fields where field.name == "dkim-signature" {
            guard signatures.count < maxSignatures else { break }
            let parsed = Result { () throws(DKIMError) in try DKIMSignatureField(field) }
            signatures.append(parsed)
            hashers.append(try? DKIMBodyHasher(canonicalization: parsed.get().canonicalization.body, limit: parsed.get().bodyLength))
        }
    }

    private mutating func hashBody(_ bytes: UnsafeRawBufferPointer) {
        for index in hashers.indices { hashers[index]?.update(bytes) }
    }

    /// Section 6.1.3 for one signature whose body hash is known.
    static func check(_ signature: DKIMSignatureField, bodyHash: [UInt8], fields: [DKIMHeaderField], now: Date, lookup: (String, String) -> DKIMKeyLookupResult) -> DKIMVerificationResult {
        var result = DKIMVerificationResult(status: .fail, domain: signature.domain, selector: signature.selector, identity: signature.identity, signaturePrefix: signature.signaturePrefix)
        func finish(_ status: DKIMVerificationResult.Status, _ reason: String?) -> DKIMVerificationResult {
            result.status = status
            result.reason = reason
            return result
        }
        if let expiration = signature.expiration, expiration < now { return finish(.permerror, "signature expired") }
        let records: [String]
        switch lookup(signature.selector, signature.domain) {
        case .none: return finish(.permerror, "no key for signature")
        case .temporaryFailure(let reason): return finish(.temperror, "key lookup failed: \(reason)")
        case .records(let found): records = found
        }
        guard let text = records.first(where: { (try? DKIMKeyRecord($0)) != nil }) ?? records.first else {
            return finish(.permerror, "no key for signature")
        }
        let record: DKIMKeyRecord
        do { record = try DKIMKeyRecord(text) } catch { return finish(.permerror, error.description) }
        guard let key = record.key else { return finish(.permerror, "key revoked") }
        guard key.algorithm == signature.algorithm else { return finish(.permerror, "key type does not match a=") }
        guard bodyHash == signature.bodyHash else { return finish(.fail, "body hash did not verify") }
        let digest = DKIMHeaderHasher.digest(fields: fields, signedNames: signature.signedHeaders, signatureField: signature.fieldWithoutSignature, canonicalization: signature.canonicalization.header)
        guard key.isValid(signature: signature.signature, for: digest) else { return finish(.fail, "signature did not verify") }
        return finish(.pass, nil)
    }
}
