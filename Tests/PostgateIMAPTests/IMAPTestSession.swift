import Foundation
import NIOCore
import PostgateMessage
import PostgateStore
@testable import PostgateIMAP
import PostgateIndex
import PostgateDirectory

/// A real store in a temporary data directory with one agent, and sessions that run
/// command lines through the decoder, parser, state machine and executor.
final class IMAPStoreFixture: @unchecked Sendable {
    let root: String
    let store: MailStore
    let agent: AgentIdentity

    init() throws {
        var template = Array((NSTemporaryDirectory() + "/postgate-imap-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { throw CocoaError(.fileWriteUnknown) }
        root = String(cString: made)
        store = try MailStore.open(directory: root + "/data")
        try store.addDomain(DomainName("acme.test"))
        try store.addAddress(EmailAddress("support@acme.test"))
        try store.addAgent("alice", password: "correct horse")
        guard let agent = try store.authenticate(agent: "alice", password: "correct horse") else { throw CocoaError(.userCancelled) }
        self.agent = agent
    }

    deinit {
        try? FileManager.default.removeItem(atPath: root)
    }

    /// Delivers `message` over the SMTP path into support@acme.test's mailbox, labelled
    /// `policy`, and (`routed`) also into the queue the address routes it to (`general`).
    func deliver(_ message: String, policy: String? = nil, routed: Bool = false) throws {
        guard case .accept(let target) = try store.resolveRecipient(EmailAddress("support@acme.test")) else { return }
        let incoming = try store.beginMessage()
        try incoming.write(Array(message.utf8))
        let header = MessageHeader.parse(Array(message.utf8))
        let facts = RoutingFacts(sender: "c@example.com", subject: "", body: { "" })
        let queue = routed ? try store.route(target, facts: facts)?.mailbox : nil
        let envelope = DeliveryEnvelope(mailFrom: "c@example.com", rcptTo: [:], header: header, policy: policy.map { [target: $0] } ?? [:])
        _ = try store.deliver(incoming, to: [target] + (queue.map { [$0] } ?? []), envelope: envelope)
    }

    /// Appends `count` messages to INBOX (UIDs 1 to `count`), each with a Message-ID of its own.
    func appendSamples(_ count: Int) throws {
        var session = session()
        for index in 1...count {
            let message = sampleMessage.replacingOccurrences(of: "<order-1234@", with: "<sample\(index)@")
            let append = session.run("a APPEND INBOX {\(message.utf8.count)+}\r\n\(message)")
            guard append.contains("a OK") else { throw IMAPParseError("APPEND failed: \(append)") }
        }
    }

    func session() -> IMAPTestSession<MailStore> {
        IMAPTestSession(executor: IMAPCommandExecutor(store: store), context: IMAPSessionContext(agent: agent, selected: nil))
    }
}

/// Runs command lines against any `IMAPMailStore`: the real one, or `InMemoryIMAPStore`.
struct IMAPTestSession<Store: IMAPMailStore> {
    let executor: IMAPCommandExecutor<Store>
    var context: IMAPSessionContext

    /// Runs one command line (literals as `{n+}`) and returns the response text. An
    /// APPEND's messages go to spool files, as the handler sends them.
    mutating func run(_ line: String) -> String {
        var decoder = IMAPFrameDecoder()
        decoder.append(ByteBuffer(string: line + "\r\n"))
        var upload: IMAPAppendUpload<Store>?
        var frame: IMAPFrameDecoder.Frame?
        while frame == nil, let event = decoder.next() {
            switch event {
            case .messageLiteral:
                decoder.streamMessageLiteral()
                // A MULTIAPPEND's next message (RFC 3502), as the handler starts it.
                if let upload { upload.startNext() } else { upload = IMAPAppendUpload(store: executor.store) }
            case .messageData(let bytes): upload?.write(bytes)
            case .frame(let whole): frame = whole
            default: return "unexpected \(event)"
            }
        }
        guard let frame, case .success(let command) = IMAPCommandParser.parse(frame) else {
            upload?.abort()
            return "unparsable: \(line)"
        }
        context.enablingCondStore = !context.condStore && command.command.enablesCondStore
        if command.command.enablesCondStore { context.condStore = true }
        let result = executor.execute(command, context: context, upload: upload)
        context.selected = result.selected
        return String(decoding: result.output, as: UTF8.self)
    }

    mutating func poll() -> String {
        let result = executor.poll(context: context)
        context.selected = result.selected
        return String(decoding: result.output, as: UTF8.self)
    }
}

let sampleMessage = """
    From: "Carol Customer" <carol@example.com>\r
    To: support@acme.test\r
    Subject: Order 1234 is late\r
    Date: Mon, 23 Nov 2026 10:00:00 +0100\r
    Message-ID: <order-1234@example.com>\r
    \r
    Where is my order?\r

    """

let multipartMessage = """
    From: bob@example.com\r
    To: support@acme.test\r
    Subject: Photo\r
    Message-ID: <photo@example.com>\r
    References: <order-1234@example.com>\r
    MIME-Version: 1.0\r
    Content-Type: multipart/mixed; boundary="XX"\r
    \r
    preamble\r
    --XX\r
    Content-Type: text/plain; charset=utf-8\r
    \r
    See attached.\r
    --XX\r
    Content-Type: image/png; name="a.png"\r
    Content-Transfer-Encoding: base64\r
    Content-Disposition: attachment; filename="a.png"\r
    \r
    iVBORw0KGgo=\r
    --XX--\r

    """
