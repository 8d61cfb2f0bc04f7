import Foundation

/// Decides which session a new message belongs to, in layers from the strongest evidence
/// to the weakest, so replies from real mail clients join their conversation:
///
/// 1. a Postgate-signed Message-ID in In-Reply-To/References (`SessionMessageID`);
/// 2. the hidden marker in the body, for relays that rewrite Message-IDs;
/// 3. In-Reply-To/References against every stored Message-ID of the address;
/// 4. Outlook's Thread-Index root, which survives clients that drop References;
/// 5. channel mode only: the customer's open session on the address.
///
/// A subject never matches on its own. Every layer requires that the sender is the
/// session's customer or a recorded participant (newsletter replies share In-Reply-To).
/// A match whose session has expired starts a new session linked to it.
public struct SessionResolver: Sendable {
    public var mode: SessionMode
    public var messageIDs: SessionMessageID

    public init(mode: SessionMode, messageIDs: SessionMessageID) {
        self.mode = mode
        self.messageIDs = messageIDs
    }

    public func resolve(_ facts: SessionHeaderFacts, now: Date, lookup: some SessionLookup) throws -> SessionDecision {
        guard let sender = facts.from else { return .start(previousSessionID: nil, reason: .newThread) }
        if let (session, reason) = try threadMatch(facts, sender: sender, lookup: lookup) {
            return session.isOpen(at: now)
                ? .join(sessionID: session.id, reason: reason)
                : .start(previousSessionID: session.id, reason: .expired)
        }
        if mode == .channel, let latest = try lookup.latestSession(customer: sender) {
            return latest.isOpen(at: now)
                ? .join(sessionID: latest.id, reason: .channel)
                : .start(previousSessionID: latest.id, reason: .expired)
        }
        return .start(previousSessionID: nil, reason: .newThread)
    }

    /// The first session found by layers 1–4 that admits `sender`.
    private func threadMatch(_ facts: SessionHeaderFacts, sender: String,
                             lookup: some SessionLookup) throws -> (SessionCandidate, SessionMatchReason)? {
        let referenced = facts.referencedIDs
        let signed = referenced.compactMap(messageIDs.sessionID(fromMessageID:))
        for id in signed {
            if let session = try lookup.session(id: id), session.admits(sender) { return (session, .signedMessageID) }
        }
        for id in messageIDs.sessionIDs(inBody: facts.bodyText ?? "") {
            if let session = try lookup.session(id: id), session.admits(sender) { return (session, .bodyMarker) }
        }
        if !referenced.isEmpty,
           let session = try lookup.sessions(containingMessageIDs: referenced).first(where: { $0.admits(sender) }) {
            return (session, .references)
        }
        if let root = facts.threadIndexRoot,
           let session = try lookup.sessions(threadIndexRoot: root).first(where: { $0.admits(sender) }) {
            return (session, .threadIndex)
        }
        return nil
    }
}
