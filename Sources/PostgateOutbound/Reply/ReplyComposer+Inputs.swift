extension ReplyComposer {
    /// What the channel address says about its replies (its published channel settings).
    public struct Channel: Sendable, Equatable {
        /// The channel address: From of every reply.
        public var address: String
        /// The phrase shown with it; nil or empty: the bare address.
        public var displayName: String?
        /// The contact centre's own address: Reply-To, and an envelope-only Bcc.
        public var contactCentreAddress: String?
        public var templateHeaderText: String?
        public var templateHeaderHTML: String?
        public var templateFooterText: String?
        public var templateFooterHTML: String?
        /// The vCard (RFC 6350) to attach to the first reply of a session; nil: none.
        public var contactCard: String?
        public var maxTo: Int
        public var maxCc: Int
        public var maxBcc: Int
        /// The most bytes of decoded attachments.
        public var maxAttachmentBytes: Int
        /// The writing agent's signature, already rendered: after the footer.
        public var signatureText: String?
        public var signatureHTML: String?
        /// Reply-To when it is not the contact centre's address: the channel address, for a
        /// reply sent from an agent's own address (personal replies).
        public var replyTo: String?

        public init(address: String, displayName: String? = nil, contactCentreAddress: String? = nil,
                    templateHeaderText: String? = nil, templateHeaderHTML: String? = nil,
                    templateFooterText: String? = nil, templateFooterHTML: String? = nil, contactCard: String? = nil,
                    maxTo: Int = 50, maxCc: Int = 25, maxBcc: Int = 25, maxAttachmentBytes: Int = 20 * 1024 * 1024) {
            self.address = address
            self.displayName = displayName
            self.contactCentreAddress = contactCentreAddress
            self.templateHeaderText = templateHeaderText
            self.templateHeaderHTML = templateHeaderHTML
            self.templateFooterText = templateFooterText
            self.templateFooterHTML = templateFooterHTML
            self.contactCard = contactCard
            self.maxTo = maxTo
            self.maxCc = maxCc
            self.maxBcc = maxBcc
            self.maxAttachmentBytes = maxAttachmentBytes
        }
    }

    /// Where the reply sits in its session's thread.
    public struct Thread: Sendable, Equatable {
        /// The reply's own Message-ID, `<token@domain>` (a signed session id).
        public var messageID: String
        /// The hidden body marker with the same session token (`[ref:…]`); nil: none.
        public var bodyMarker: String?
        /// The Message-ID of the message answered (RFC 5322 section 3.6.4).
        public var inReplyTo: String?
        /// The parent's References then the parent's Message-ID.
        public var references: [String]
        /// The first reply of the session: the contact card goes with it.
        public var isFirstReply: Bool

        public init(messageID: String, bodyMarker: String? = nil, inReplyTo: String? = nil, references: [String] = [],
                    isFirstReply: Bool = false) {
            self.messageID = messageID
            self.bodyMarker = bodyMarker
            self.inReplyTo = inReplyTo
            self.references = references
            self.isFirstReply = isFirstReply
        }
    }

    /// The message to queue: its bytes (not yet DKIM-signed) and the envelope recipients
    /// (the submitted ones and the contact centre's address).
    public struct Reply: Sendable, Equatable {
        public var bytes: [UInt8]
        public var recipients: [String]
    }
}
