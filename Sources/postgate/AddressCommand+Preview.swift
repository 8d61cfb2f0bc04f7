import ArgumentParser
import Foundation
import PostgateDirectory
import PostgateGateway
import PostgateMaildir
import PostgateMessage
import PostgateStore

extension AddressCommand {
    /// `postgate address preview EMAIL [--draft] [--html FILE]`.
    struct Preview: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a sample reply of an address as a customer would receive it.",
            discussion: """
            An agent's short answer is composed as a submitted reply is: From with the display \
            name, Reply-To the contact centre's address, the template's header and footer in the \
            text and HTML parts, the contact card of a session's first reply; with --agent, that \
            agent's signature after the footer and, where personal replies are on, the agent's \
            own address as From. Nothing is signed, \
            queued or sent. Prints the header fields, the text part and the attachments; --html \
            FILE writes the HTML part as a page a browser opens. The published settings are used, \
            or the draft with --draft. With --json: {from, replyTo, to, subject, text, html, \
            attachments}.
            """
        )

        @Argument(help: "the address") var email: String
        @Flag(help: "preview the draft settings instead of the published ones") var draft = false
        @Option(help: ArgumentHelp("write the HTML part to FILE", valueName: "FILE")) var html: String?
        @Option(help: ArgumentHelp("the agent writing the sample reply", valueName: "NAME")) var agent: String?
        @OptionGroup var options: StoreOptions

        struct Output: Encodable {
            var from: String?
            var replyTo: String?
            var to: String?
            var subject: String?
            var text: String?
            var html: String?
            var attachments: [String]

            enum CodingKeys: String, CodingKey { case from, replyTo, to, subject, text, html, attachments }

            /// Every key, `null` where the reply has no such field or part.
            func encode(to encoder: any Encoder) throws {
                var c = encoder.container(keyedBy: CodingKeys.self)
                try c.encode(from, forKey: .from)
                try c.encode(replyTo, forKey: .replyTo)
                try c.encode(to, forKey: .to)
                try c.encode(subject, forKey: .subject)
                try c.encode(text, forKey: .text)
                try c.encode(html, forKey: .html)
                try c.encode(attachments, forKey: .attachments)
            }
        }

        func run() throws {
            let address = parseAddress(email)
            let store = try options.openStore()
            let record = try previewedRecord(address, draft: draft, store: store)
            var writer: AgentRecord?
            if let agent {
                let login = parseAgentName(agent)
                writer = try reportingFailure { () throws(StoreError) in try store.agent(login) }
                guard writer != nil else { fail(StoreError.agentNotFound(login).description) }
            }
            let message: [UInt8]
            do {
                message = try ReplyPreview.compose(record, outbound: options.gatewayConfiguration().outbound, date: Date(), agent: writer)
            } catch {
                fail("cannot compose the sample reply: \(error)")
            }
            let header = MessageHeader.parse(message)
            let parts = ReplyPreview.parts(of: message)
            if let html {
                guard let body = parts.html else { fail("the sample reply has no HTML part") }
                do { try Data(ReplyPreview.page(html: body).utf8).write(to: URL(fileURLWithPath: html)) } catch {
                    fail("cannot write \(html): \(error.localizedDescription)")
                }
            }
            let output = Output(from: header["From"], replyTo: header["Reply-To"], to: header["To"], subject: header["Subject"],
                                text: parts.text, html: parts.html, attachments: parts.attachments)
            try options.print(output) {
                var lines = [("From", output.from), ("Reply-To", output.replyTo), ("To", output.to), ("Subject", output.subject)]
                    .compactMap { name, value in value.map { "\(name): \($0)" } }
                lines.append("")
                lines.append(parts.text ?? "(no text part)")
                if !parts.attachments.isEmpty { lines.append("attachments: " + parts.attachments.joined(separator: ", ")) }
                if let html { lines.append("HTML part written to \(html)") }
                return lines.joined(separator: "\n")
            }
        }
    }
}

/// The address as a preview shows it: with its draft's settings when `draft`, else its
/// published ones; fails with one line when it has no draft to show.
func previewedRecord(_ address: EmailAddress, draft: Bool, store: MailStore) throws -> AddressRecord {
    guard var record = try reportingFailure({ () throws(StoreError) in try store.address(address) }) else {
        fail(StoreError.addressNotFound(address).description)
    }
    if draft {
        guard let drafted = try reportingFailure({ () throws(StoreError) in try store.settings(of: address) }).draft else {
            fail("\(address.canonicalText) has no draft; preview the published settings without --draft")
        }
        record.settings = drafted
    }
    return record
}
